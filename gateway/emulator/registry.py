"""Calls a client can attach to with ``?call_id=``: the emulator's side of the SIP path.

Whatever answers a call (later: the emulator's SIP front, after its REST ``accept``) registers
it here with the accepted session configuration; a WebSocket opened on
``/v1/realtime?call_id=<id>`` then attaches to that call's session. The session outlives a
socket, so a client can re-attach after a drop and find the conversation as it was.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Protocol

from gateway.emulator.client_events import SESSION
from gateway.emulator.schema import check
from gateway.emulator.session import EmulatedSession

__all__ = ["CallRegistry", "CallSlot", "Sideband"]


class Sideband(Protocol):
    """Whoever runs a call's session (the SIP front's call driver) serves its sideband."""

    async def serve(self, connection: Any) -> None: ...


@dataclass(slots=True)
class CallSlot:
    """One registered call: its accepted configuration and, once attached, its session."""

    call_id: str
    accepted: dict[str, Any] | None
    session: EmulatedSession | None = None
    attached: bool = False
    driver: Sideband | None = None
    """Set for a SIP call: its session runs with the call, the socket only attaches to it."""

    @property
    def model(self) -> str:
        return str((self.accepted or {}).get("model") or "gpt-realtime")


class CallRegistry:
    """Calls by id."""

    __slots__ = ("_calls",)

    def __init__(self) -> None:
        self._calls: dict[str, CallSlot] = {}

    def register(self, call_id: str | None = None, session: dict[str, Any] | None = None) -> str:
        """Add a call (id ``rtc_...`` made up if not given) with its accepted ``session``.

        ``session`` has the shape of a ``session.update``'s ``session``; it is validated and a
        :class:`~gateway.emulator.schema.ClientEventError` says what is wrong with it.
        """
        if session is not None:
            check(session, SESSION, "session")
        call_id = call_id or f"rtc_{secrets.token_hex(16)}"
        self._calls[call_id] = CallSlot(call_id, session)
        return call_id

    def get(self, call_id: str) -> CallSlot | None:
        return self._calls.get(call_id)

    def end(self, call_id: str) -> None:
        """Forget a call (it hung up); attached sockets are left to their owner."""
        self._calls.pop(call_id, None)

    def __contains__(self, call_id: object) -> bool:
        return call_id in self._calls

    @property
    def call_ids(self) -> list[str]:
        return list(self._calls)
