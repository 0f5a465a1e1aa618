"""``no_human_claim``: the agent never claims to be a human.

Trips on first-person claims and on denials of being a machine:

* ``I am a human``, ``yes, I'm human``, ``I'm a real person``, ``I'm a human being``,
  ``I'm actually a real live person``, ``I'm a real agent``, ``I'm only human``, ``I'm a member
  of staff``;
* ``I'm not a robot / bot / AI / machine / computer program / recording``, ``I'm no robot``;
* ``this is a real person speaking``, ``this is a human here``;
* ``you're talking to a real person``, ``you're not speaking to a machine``.

Stays quiet on ``I'll get you a human``, ``a real person will call you back``, ``I'm an AI
assistant``, ``I'm not able to ...``, ``I'm not a human``, ``I'm not just a bot``, ``I'm a
human resources assistant``, ``I'm not an AI expert``, a claim that is a question (``I'm a
human?``) and a reported one (``you asked whether I'm a real person``, ``I won't pretend I'm
human``).

The claim's meaning can hang on the next word (``human`` / ``human resources``), so on a partial
transcript (``final=False``) a claim is reported only once the word after it, or punctuation,
has arrived. The offset is the start of the claim (``I`` of ``I'm``, ``this``, ``you``).
"""

from __future__ import annotations

import re

from gateway.core.agents.guardrails.base import (
    GuardrailTrip,
    at_word_start,
    lowered,
    trailing_token_start,
)

__all__ = ["NoHumanClaim"]

_S = r"[\s,]+"
_I_AM = at_word_start(r"i(?:\s*['\u2019]\s*|\s+a)m\b")
_YOU_ARE = at_word_start(r"you(?:\s*['\u2019]\s*re|\s+are)\b")
_THIS_IS = at_word_start(r"this\s+is\b")
_ADVERBS = (
    r"definitely|really|actually|absolutely|certainly|indeed|totally|truly|genuinely|honestly"
    r"|obviously|of\s+course|in\s+fact|just|only|also|still|very\s+much|completely|simply"
    r"|merely|surely|100\s*%|(?:a|one)\s+hundred\s+percent|now"
)
_ADV = rf"(?:{_S}(?:{_ADVERBS}))*"
_ART = rf"(?:{_S}(?:a|an))?"
_QUALITY = (
    r"real|actual|live|living|genuine|regular|normal|ordinary|breathing"
    r"|flesh[\s-]+and[\s-]+blood"
)
_ADJ = rf"(?:{_S}(?:{_QUALITY}))*"
_HUMAN = r"human(?:\s+being)?|person|member\s+of\s+staff|staff\s+member|employee"
_STAFF = (
    rf"(?:{_QUALITY}|human){_S}"
    r"(?:agent|operator|representative|rep|employee|staff\s+member|member\s+of\s+staff"
    r"|man|woman|guy|lady)"
)
_MACHINE = (
    r"a\.\s?i\.?|ai|robot|bot|chat\s*bot|machine|computer(?:\s+program)?|program|recording"
    r"|recorded\s+message|android|algorithm|software|artificial\s+intelligence|language\s+model"
    r"|answering\s+machine|(?:automated|virtual|digital|voice|ai)\s+"
    r"(?:system|voice|assistant|agent|service|message|bot)"
)
_NOT = rf"{_S}(?:not|no)\b(?!{_S}(?:just|only|merely|simply|even|exactly|quite|like)\b)"

_END = r"(?![\w'\u2019-])(?!\s*\?)"
_HUMAN_VETO = r"(?!\s+(?:resources|rights|nature|error|voice|touch|like|sounding|centred|centered))"
_MACHINE_VETO = (
    r"(?!\s+(?:expert|specialist|engineer|scientist|researcher|developer|programmer|manager"
    r"|learning|science|technician|company|model|tool|product|person|fan|nerd|whiz|wizard))"
)
_SPEAKING = r"\s+(?:speaking|here|talking|on\s+the\s+(?:line|phone))\b"

_CLAIMS = (
    rf"{_I_AM}{_ADV}{_ART}{_ADJ}{_S}(?:{_HUMAN}|{_STAFF}){_END}{_HUMAN_VETO}",
    rf"{_I_AM}{_ADV}{_NOT}{_ADV}{_ART}{_S}(?:{_MACHINE}){_END}{_MACHINE_VETO}",
    rf"{_THIS_IS}{_ADV}{_ART}(?:{_S}(?:{_QUALITY}))+{_S}(?:{_HUMAN}){_END}"
    r"(?=\s*[.,!;:…]|\s*\Z)",
    rf"{_THIS_IS}{_ADV}{_ART}{_ADJ}{_S}(?:{_HUMAN}){_END}(?={_SPEAKING})",
    rf"{_YOU_ARE}{_ADV}{_S}(?:speaking|talking|chatting){_S}(?:to|with){_ART}{_ADJ}{_S}"
    rf"(?:{_HUMAN}|{_STAFF}){_END}{_HUMAN_VETO}",
    rf"{_YOU_ARE}{_ADV}{_S}not{_S}(?:speaking|talking|chatting){_S}(?:to|with){_ART}{_S}"
    rf"(?:{_MACHINE}){_END}{_MACHINE_VETO}",
)
_DECIDED = r"(?=\s*[^\w\s]|\s+[\w'\u2019-]+[^\w'\u2019-])"
"""On a partial transcript, the word after the claim (or punctuation) must have arrived."""

_FINAL = re.compile("|".join(_CLAIMS))
_PARTIAL = re.compile("|".join(f"{c}{_DECIDED}" for c in _CLAIMS))
"""Matched on lower-cased text; every alternative starts with a literal (``re`` skips ahead)."""

_REPORTED = re.compile(
    r"(?:\bif|\bwhether|\bthink|\bthought|\bwonder(?:ing)?|\bask(?:ed|ing)?|\bpretend(?:ing)?"
    r"|\bassume[sd]?|\bbelieve[sd]?|\bsuppose|\bclaim(?:ing)?|\bsay(?:ing)?\s+that"
    r"|\bsaid\s+that|\bsound\s+like|\bseem\s+like)"
    r"(?:\s+that)?[\s,]*\Z",
)
"""Words just before ``I'm ...`` that make it reported or hypothetical, not a claim."""
_REPORTED_WINDOW = 24

_OPEN_WORDS = "|".join(
    [
        r"m|am|is|re|are|not|no|a|an|speaking|talking|chatting|to|with|here|on|the|line|phone",
        _ADVERBS,
        _QUALITY,
        r"human|being|person|agent|operator|representative|rep|employee|staff|member|of|man",
        r"woman|guy|lady",
        _MACHINE,
    ]
)
_OPENER = "|".join(at_word_start(word) for word in ("i", "this", "you"))
_OPEN = re.compile(
    rf"(?:{_OPENER})\b(?:[\s,'\u2019]+(?:{_OPEN_WORDS})(?![\w'\u2019-]))*"
    r"(?:[\s,'\u2019]*|[\s,'\u2019]+(?:[\w'\u2019-]+|[a-z]\.(?:[a-z]\.?)?))\Z",
)
"""A claim that may still be under way at the end of the text: ``I'm a real``."""
_OPEN_WINDOW = 120


class NoHumanClaim:
    """Trips when the agent says it is a human or denies being a machine (fast)."""

    __slots__ = ("name",)

    slow = False

    def __init__(self, name: str = "no_human_claim") -> None:
        self.name = name

    def check(self, text: str, final: bool = True) -> GuardrailTrip | None:
        pattern = _FINAL if final else _PARTIAL
        low = lowered(text)
        for claim in pattern.finditer(low):
            start = claim.start()
            if not _REPORTED.search(low, max(0, start - _REPORTED_WINDOW), start):
                return GuardrailTrip(self.name, "claimed to be human", start)
        return None

    def hold_from(self, text: str) -> int:
        """The start of a claim that may still be under way (``I'm a real``), else of the
        unfinished last word."""
        open_claim = _OPEN.search(lowered(text), max(0, len(text) - _OPEN_WINDOW))
        token = trailing_token_start(text)
        return min(open_claim.start(), token) if open_claim is not None else token
