"""What every guardrail shares: the result types, the two interfaces and the slow marker.

An **output** guardrail looks at the agent's transcript of the turn it is speaking and answers
with a :class:`GuardrailTrip` (or None). The trip's ``offset`` is where the offending content
starts in that text, so a caller holding back audio knows where to cut.

An **input** guardrail looks at what the caller said and answers with an
:class:`InputGuardrailHit` naming the configured action (transfer, end the call, say something).

Each guardrail says whether it is ``slow``. Fast ones (regexes, length caps) are cheap enough to
run on every transcript delta; slow ones (a custom function declared slow) are run by the runtime
outside the delta path. Nothing here does I/O or reads the clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

__all__ = [
    "Action",
    "GuardrailTrip",
    "InputGuardrail",
    "InputGuardrailHit",
    "OutputGuardrail",
    "at_word_start",
    "is_marked_slow",
    "lowered",
    "slow_guardrail",
    "trailing_token_start",
]

Action = Literal["transfer", "end_call", "say"]
"""What an input guardrail asks the runtime to do."""


@dataclass(frozen=True, slots=True)
class GuardrailTrip:
    """An output guardrail tripped on the agent's transcript."""

    guardrail: str
    """Name of the guardrail (``no_urls``, ``no_long_digits``, a custom function's path ...)."""
    reason: str
    """Short, for logs and the CDR; never the offending digits in full."""
    offset: int
    """Character offset in the checked text where the offending content starts."""


@dataclass(frozen=True, slots=True)
class InputGuardrailHit:
    """An input guardrail matched what the caller said."""

    guardrail: str
    reason: str
    """The configured phrase that matched, or the custom function's reason."""
    action: Action
    target: str | None = None
    """Transfer target name, for ``action == "transfer"``."""
    message: str | None = None
    """What the agent says before acting (always present for ``say``)."""


class OutputGuardrail(Protocol):
    """A check on the agent's transcript of the current spoken turn."""

    @property
    def name(self) -> str: ...

    @property
    def slow(self) -> bool:
        """True when too costly for every delta: the runtime runs it asynchronously."""
        ...

    def check(self, text: str, final: bool = True) -> GuardrailTrip | None:
        """Check the turn's transcript so far.

        ``final=False`` says more text may follow: a guardrail whose verdict depends on the
        next word (``I'm a human`` vs ``I'm a human resources assistant``) waits for it.
        """
        ...

    def hold_from(self, text: str) -> int:
        """Where unfinished content begins that more text could still turn into a trip.

        ``len(text)`` when nothing is pending. Audio past this point is best held back: for
        instance a six-digit run that a seventh digit would make a card number.
        """
        ...


class InputGuardrail(Protocol):
    """A check on what the caller said (a transcript of their turn)."""

    @property
    def name(self) -> str: ...

    @property
    def slow(self) -> bool: ...

    def check(self, text: str) -> InputGuardrailHit | None: ...


F = TypeVar("F", bound=Callable[..., object])

_SLOW_MARK = "voicegw_slow"


def slow_guardrail(function: F) -> F:
    """Declare a custom guardrail function slow (the runtime runs it off the delta path).

    Coroutine functions are slow without the marker.
    """
    function.__dict__[_SLOW_MARK] = True
    return function


def is_marked_slow(function: Callable[..., object]) -> bool:
    return getattr(function, _SLOW_MARK, False) is True


def trailing_token_start(text: str) -> int:
    """Start of the last whitespace-separated token if the text ends inside it, else len(text).

    A token still being spoken (``exam`` of ``example.com``) is not settled.
    """
    end = len(text)
    if not end or text[-1].isspace():
        return end
    start = end
    while start and not text[start - 1].isspace():
        start -= 1
    return start


def lowered(text: str) -> str:
    """``text.lower()`` with the same length, so offsets found in it hold in ``text``.

    The shipped guardrails match lower-case patterns on this: case-insensitive regexes cost
    twice as much in ``re``. The rare characters whose lower case is longer (``İ``) are kept.
    """
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


def at_word_start(source: str) -> str:
    """Regex ``source`` (starting with a plain letter) anchored at the start of a word.

    The first letter leads and a lookbehind follows it: ``re`` skips ahead to the characters
    that can start a match when every alternative of a pattern starts with a literal, and a
    leading ``\\b`` would defeat that.
    """
    first = source[0]
    return rf"{first}(?<!\w{first}){source[1:]}"
