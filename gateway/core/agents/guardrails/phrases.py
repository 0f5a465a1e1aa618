"""``phrases``: act when the caller says one of the configured phrases.

Matching is case-insensitive and on whole words: ``emergency`` matches ``It's an EMERGENCY!``
but not ``emergencies``. Between the words of a phrase any run of spaces and punctuation is
accepted (``speak to a... manager``, ``speak-to a manager``), and an apostrophe in a phrase is
optional in the transcript, straight or typographic (``don't`` matches ``dont``). The first
phrase in the transcript wins; the hit reports it as configured.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from gateway.core.agents.guardrails.base import Action, InputGuardrailHit, at_word_start, lowered

__all__ = ["Phrases", "phrase_pattern"]

_TOKEN = re.compile(r"[\w'\u2019]+")
_APOSTROPHE = re.compile(r"['\u2019]")


def phrase_pattern(phrase: str) -> str:
    """A regex source matching lower-case ``phrase`` as whole words, tolerant of punctuation and
    spacing, led by a literal (so ``re`` skips ahead to where it can start)."""
    tokens = [t.strip("'\u2019") for t in _TOKEN.findall(phrase.lower())]
    tokens = [t for t in tokens if t]
    if not tokens:
        return re.escape(phrase.strip().lower())
    words = [
        r"['\u2019]?".join(re.escape(part) for part in _APOSTROPHE.split(token)) for token in tokens
    ]
    return at_word_start(r"[\W_]+".join(words)) + r"(?!\w)"


class Phrases:
    """An input guardrail on phrases (fast)."""

    __slots__ = ("_pattern", "action", "message", "name", "phrases", "target")

    slow = False

    def __init__(
        self,
        phrases: Sequence[str],
        action: Action,
        target: str | None = None,
        message: str | None = None,
        name: str = "phrases",
    ) -> None:
        self.name = name
        self.phrases = tuple(phrases)
        self.action: Action = action
        self.target = target
        self.message = message
        alternatives = "|".join(f"({phrase_pattern(p)})" for p in self.phrases)
        self._pattern = re.compile(alternatives or "(?!)")

    def check(self, text: str) -> InputGuardrailHit | None:
        found = self._pattern.search(lowered(text))
        if found is None or found.lastindex is None:
            return None
        phrase = self.phrases[found.lastindex - 1]
        return InputGuardrailHit(self.name, phrase, self.action, self.target, self.message)
