"""``no_long_digits``: no card numbers or other long digit strings read back to the caller.

A *run* is a sequence of digit units joined by the separators people use when reading numbers
(spaces, hyphens and dashes, dots, commas, parentheses; at most four of them in a row). A unit
is written (``4242``: its digits) or spoken: ``zero``, ``oh``, ``nought``, ``one`` .. ``nine``
(1 digit), ``double four`` (2), ``triple seven`` (3), ``ten`` .. ``nineteen`` and ``twenty``
.. ``ninety`` with or without a unit (``forty two``, ``forty-two``: 2).

So ``4242 4242 4242 4242``, ``4242-4242-...``, ``four two four two ...``, ``oh two oh seven
double four ...`` and mixtures are all one run. ``hundred``, ``thousand``, ``point`` and any
other word end a run: ``one thousand two hundred`` is a quantity, not a digit string.

A run trips when it has at least ``min_digits`` digits and more than ``keep_last``: ``the card
ending in 4242`` is allowed. Colons and slashes end a run, so times (``10:45``), ``24/7`` and
dates written with slashes never join up; currency signs do too (``£12.50, £13.75``).

An amount written alone with thousands separators (``1,250,000``, ``12,345.67``) is a quantity,
not a digit string, and passes; spoken large amounts (``one million two hundred thousand``) pass
as their words end runs. Otherwise, by design, anything of ``min_digits`` or more trips: phone
numbers (``020 7946 0958``, ``oh two oh ...``), account and reference numbers, and adjacent
numbers a comma or space apart (``2025, 2026``). Raise ``min_digits`` where reading those out is
wanted.

The trip's offset is the run's first character; the reason gives the digit count only.
"""

from __future__ import annotations

import re

from gateway.core.agents.guardrails.base import (
    GuardrailTrip,
    at_word_start,
    lowered,
    trailing_token_start,
)

__all__ = ["NoLongDigits"]

_ONES = "one|two|three|four|five|six|seven|eight|nine"
_DIGIT = rf"(?:zero|oh|nought|{_ONES})"
_TEENS = "ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen"
_TENS = "twenty|thirty|forty|fourty|fifty|sixty|seventy|eighty|ninety"
_WORDS = f"double|triple|{_TENS}|{_TEENS}|zero|oh|nought|{_ONES}"

_UNIT = (
    r"(?P<written>[0-9]+)"
    rf"|\b(?P<double>double)[\s-]+(?:{_DIGIT}\b|[0-9](?![0-9]))"
    rf"|\b(?P<triple>triple)[\s-]+(?:{_DIGIT}\b|[0-9](?![0-9]))"
    rf"|\b(?P<pair>(?:{_TENS})(?:[\s-]+(?:{_ONES}))?|{_TEENS})\b"
    rf"|\b(?P<single>{_DIGIT})\b"
)
"""One digit unit; the group that matched says how many digits it stands for."""
_UNITS = re.compile(_UNIT)
_FIXED = {"double": 2, "triple": 3, "pair": 2, "single": 1}


def _any_unit() -> str:
    """A digit or a number word at a word start, as one flat literal-led alternation (fast)."""
    by_letter: dict[str, list[str]] = {}
    for word in _WORDS.split("|"):
        by_letter.setdefault(word[0], []).append(word)
    words = [
        at_word_start(f"{first}(?:{'|'.join(sorted((w[1:] for w in ws), key=len, reverse=True))})")
        + r"\b"
        for first, ws in by_letter.items()
    ]
    return "|".join([*words, *(f"{d}[0-9]*" for d in "0123456789")])


_AMOUNT = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]{1,2})?")
"""A lone amount with thousands separators (``1,500,000``, ``1,299.99``): a quantity."""

_SEPARATORS = r"[\s(),.\-\u2010-\u2015]{0,4}"
_RUN = re.compile(rf"(?:{_any_unit()})(?:{_SEPARATORS}(?:{_any_unit()}))*")
"""A run of digit units; matched on lower-cased text."""

_PREFIXES = sorted({w[:n] for w in _WORDS.split("|") for n in range(1, len(w))}, key=len)
_AFTER_RUN = re.compile(rf"{_SEPARATORS}(?:{'|'.join(reversed(_PREFIXES))})?\Z")
"""What may follow a run that is still growing: separators and the start of a number word."""
_HOLD_WINDOW = 200


def count_digits(run: str) -> tuple[int, bool]:
    """Digits a (lower-case) run stands for, and whether any of them were spoken as words."""
    total = 0
    spoken = False
    for unit in _UNITS.finditer(run):
        kind = unit.lastgroup
        if kind == "written":
            total += unit.end() - unit.start()
        else:
            total += _FIXED[kind or "single"]
            spoken = True
    return total, spoken


class NoLongDigits:
    """Trips on a run of ``min_digits`` or more digits, written or spoken (fast)."""

    __slots__ = ("_threshold", "keep_last", "min_digits", "name")

    slow = False

    def __init__(self, min_digits: int = 7, keep_last: int = 4, name: str = "no_long_digits"):
        self.name = name
        self.min_digits = min_digits
        self.keep_last = keep_last
        self._threshold = max(min_digits, keep_last + 1)

    def check(self, text: str, final: bool = True) -> GuardrailTrip | None:
        threshold = self._threshold
        for run in _RUN.finditer(lowered(text)):
            if run.end() - run.start() < threshold:
                continue  # every digit takes at least one character
            if _AMOUNT.fullmatch(run[0]):
                continue
            digits, spoken = count_digits(run[0])
            if digits >= threshold:
                how = "spoken " if spoken else ""
                return GuardrailTrip(self.name, f"{how}number of {digits} digits", run.start())
        return None

    def hold_from(self, text: str) -> int:
        """The start of a run reaching the end of the text (more digits may follow), else of
        the unfinished last word (it may be the ``fo`` of ``four``)."""
        low = lowered(text)
        for run in _RUN.finditer(low, max(0, len(low) - _HOLD_WINDOW)):
            if _AFTER_RUN.match(low, run.end()):
                return run.start()
        return trailing_token_start(text)
