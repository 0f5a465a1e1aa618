"""``max_turn_length``: one spoken turn may not run past ``max_chars`` of transcript.

The trip comes once the text is longer than ``max_chars``. Its offset is the start of the
sentence that crosses the limit, so the caller hears whole sentences up to it; when the text has
no sentence break before the limit, the offset is the last word break before it, and failing that
``max_chars`` itself. The offset never exceeds ``max_chars``.
"""

from __future__ import annotations

import re

from gateway.core.agents.guardrails.base import GuardrailTrip

__all__ = ["MaxTurnLength"]

_SENTENCE_BREAK = re.compile(r"[.!?…]+[\"'\u2019”)\]]*\s+")
_WORD_BREAK = re.compile(r"\s+")


def cut_offset(text: str, limit: int) -> int:
    """Where a turn longer than ``limit`` is best cut: a sentence start, else a word start."""
    head = text[: limit + 1]
    for pattern in (_SENTENCE_BREAK, _WORD_BREAK):
        cut = 0
        for found in pattern.finditer(head):
            cut = found.end()
        if 0 < cut <= limit:
            return cut
    return limit


class MaxTurnLength:
    """Trips when the turn's transcript exceeds ``max_chars`` (fast)."""

    __slots__ = ("max_chars", "name")

    slow = False

    def __init__(self, max_chars: int = 600, name: str = "max_turn_length") -> None:
        self.name = name
        self.max_chars = max_chars

    def check(self, text: str, final: bool = True) -> GuardrailTrip | None:
        if len(text) <= self.max_chars:
            return None
        offset = cut_offset(text, self.max_chars)
        return GuardrailTrip(self.name, f"turn longer than {self.max_chars} characters", offset)

    def hold_from(self, text: str) -> int:
        return len(text)
