"""Server-side ids in the API's shapes, and the ``error`` event.

Ids look like the real ones (``event_`` / ``item_`` / ``resp_`` / ``sess_`` / ``conv_`` plus 21
alphanumerics, ``call_`` plus 16). A seed makes a whole session reproducible in tests.
"""

from __future__ import annotations

import random
import string
from typing import Any

from gateway.emulator.schema import ClientEventError

__all__ = ["Ids", "error_event"]

_ALPHABET = string.ascii_letters + string.digits


class Ids:
    """Generates the ids one emulated session hands out."""

    __slots__ = ("_random",)

    def __init__(self, seed: int | None = None) -> None:
        # Not security-relevant: ids only need to be unique within a test run.
        self._random = random.Random(seed)  # noqa: S311

    def new(self, prefix: str, length: int = 21) -> str:
        return prefix + "".join(self._random.choices(_ALPHABET, k=length))

    def event(self) -> str:
        return self.new("event_")

    def item(self) -> str:
        return self.new("item_")

    def response(self) -> str:
        return self.new("resp_")

    def call(self) -> str:
        return self.new("call_", 16)


def error_event(ids: Ids, exc: ClientEventError, client_event_id: str | None) -> dict[str, Any]:
    """The ``error`` server event for ``exc``, naming the client event that caused it."""
    return {
        "type": "error",
        "event_id": ids.event(),
        "error": {
            "type": exc.kind,
            "code": exc.code,
            "message": exc.message,
            "param": exc.param,
            "event_id": client_event_id,
        },
    }
