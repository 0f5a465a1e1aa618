"""Caller phrases as a recognition grammar, and transcripts between spoken and written form.

A scenario lists what callers may say as **phrases**, in a small subset of JSGF::

    "[hello] i need help with my (bill | invoice) [please]"
    "my account number is {digits}"

words (letters and apostrophes, any case), ``[optional]`` parts, ``(a | b)`` alternatives
(also ``|`` at the top level) and slots: ``{digit}`` (one spoken digit, "oh" for zero),
``{digits}`` (one or more), ``{letter}`` (one spelled letter), ``{code}`` (letters and digits)
and ``{value}`` (a number up to 999 with decimals, a time "nine am", or a date "the
twenty eighth": for what a tool returned). Fixed
lengths recognise far better than open runs: an account number known to have four digits is
best written ``{digit} {digit} {digit} {digit}``. :func:`jsgf` turns a list of
phrases into one grammar whose top rule is any one phrase.

:func:`written` formats recognised words as a transcription service would ("my account
number is one zero zero one" -> "My account number is 1001"); :func:`spoken` goes the other
way for scoring and for turning an agent's sentences into phrases ("42.10" -> "forty two point
one zero"), the way espeak-ng reads them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = [
    "SLOTS",
    "check_phrase",
    "examples",
    "jsgf",
    "phrase_words",
    "sentence_phrase",
    "spoken",
    "word_errors",
    "written",
]

DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_TEENS = (
    *("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen"),
    *("seventeen", "eighteen", "nineteen"),
)
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_ORDINAL = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth"}
_ORDINAL |= {"nine": "ninth", "twelve": "twelfth"}
_LETTERS = tuple("abcdefghijklmnopqrstuvwxyz")

SLOTS: dict[str, str] = {
    "digit": "<digit>",
    "digits": "<digit>+",
    "letter": "<letter>",
    "code": "( <digit> | <letter> )+",
    "value": "<value>",
}
"""Slot name -> JSGF expansion."""

_SLOT_RULES = (
    f"<digit> = {' | '.join((*DIGITS, 'oh'))};\n"
    f"<letter> = {' | '.join(_LETTERS)};\n"
    "<value> = <number> [point <digit> [<digit>]] [am | pm] | [the] [<tens>] <ordinal>;\n"
    "<number> = [<digit> hundred [and]] (<digit> | <teen> | <tens> [<digit>]);\n"
    f"<teen> = {' | '.join(_TEENS)};\n"
    f"<tens> = {' | '.join(t for t in _TENS if t)};\n"
    "<ordinal> = first | second | third | fourth | fifth | sixth | seventh | eighth | ninth "
    "| tenth | eleventh | twelfth | thirteenth | twentieth | thirtieth;\n"
)
_TOKEN = re.compile(r"\s*(\{[a-z]+\}|[a-z']+|[\[\]()|])", re.IGNORECASE)
_WORD = re.compile(r"[a-z']+", re.IGNORECASE)
_DIGIT_WORD = {w: str(n) for n, w in enumerate(DIGITS)} | {"oh": "0"}
_FIRST_PERSON = {"i", "i'm", "i'll", "i've", "i'd"}


def _tokens(phrase: str) -> list[str]:
    parts, position = [], 0
    text = phrase.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise ValueError(f"unexpected {text[position:].split()[0]!r} in phrase {phrase!r}")
        parts.append(match.group(1))
        position = match.end()
    return parts


def check_phrase(phrase: str) -> None:
    """Raise ``ValueError`` unless ``phrase`` is valid phrase syntax."""
    parts = _tokens(phrase)
    stack: list[str] = []
    pairs = {"]": "[", ")": "("}
    for part in parts:
        if part in "[(":
            stack.append(part)
        elif part in pairs and (not stack or stack.pop() != pairs[part]):
            raise ValueError(f"unbalanced {part!r} in phrase {phrase!r}")
        elif part.startswith("{") and part[1:-1] not in SLOTS:
            raise ValueError(f"unknown slot {part} (known: {', '.join(SLOTS)})")
    if stack:
        raise ValueError(f"unclosed {stack[-1]!r} in phrase {phrase!r}")
    if not any(_WORD.fullmatch(t) or t.startswith("{") for t in parts):
        raise ValueError(f"phrase {phrase!r} has no words")


SAMPLE_SLOTS = {"digits": "one zero zero one", "code": "s w one", "value": "forty two"}


def examples(phrase: str) -> list[str]:
    """Two sentences a phrase accepts: the shortest choices, and the longest (for tests)."""
    parts = _tokens(phrase)
    out = []
    for longest in (False, True):
        words, _ = _example(parts, 0, longest)
        sentence = " ".join(words)
        if sentence not in out:
            out.append(sentence)
    return out


def _example(parts: list[str], at: int, longest: bool) -> tuple[list[str], int]:
    """Words for the alternatives starting at ``at`` up to their closing bracket; its index."""
    choices: list[list[str]] = [[]]
    while at < len(parts) and parts[at] not in ")]":
        part = parts[at]
        if part == "|":
            choices.append([])
        elif part in "([":
            inner, at = _example(parts, at + 1, longest)
            choices[-1] += inner if part == "(" or longest else []
        else:
            choices[-1] += _sample(part, len(choices[-1])).split()
        at += 1
    return (choices[-1] if longest else choices[0]), at


def _sample(part: str, position: int) -> str:
    """A word for a part; single digits and letters vary with their position in the phrase."""
    if not part.startswith("{"):
        return part.lower()
    name = part[1:-1]
    if name == "digit":
        return ("four", "two", "seven", "one", "nine", "three", "eight")[position % 7]
    if name == "letter":
        return ("s", "w", "e", "n", "b")[position % 5]
    return SAMPLE_SLOTS.get(name, "")


def phrase_words(phrase: str) -> set[str]:
    """The literal words of a phrase, lower case (slots and brackets left out)."""
    return {t.lower() for t in _tokens(phrase) if _WORD.fullmatch(t)}


def _expansion(phrase: str, keep: set[str] | None) -> str:
    parts = []
    for part in _tokens(phrase):
        if part.startswith("{"):
            parts.append(f"( {SLOTS[part[1:-1]]} )")
        elif _WORD.fullmatch(part):
            word = part.lower()
            parts.append(word if keep is None or word in keep else "<NULL>")
        else:
            parts.append(part)
    return " ".join(p for p in parts if p)


def jsgf(phrases: Iterable[str], *, keep: set[str] | None = None) -> str:
    """A JSGF grammar accepting any one of ``phrases``.

    Words not in ``keep`` (when given: the recogniser's dictionary) match nothing (``<NULL>``).
    """
    alternatives = [f"( {_expansion(p, keep)} )" for p in phrases]
    if not alternatives:
        raise ValueError("no phrases to listen for")
    body = " | ".join(alternatives)
    return (
        f"#JSGF V1.0;\ngrammar caller;\npublic <utterance> = <phrase>;\n<phrase> = {body};\n"
        + _SLOT_RULES
    )


# ---------------------------------------------------------------------------- written form


def written(words: str) -> str:
    """Recognised words as a transcript: digit runs as numbers, codes joined, "I" capital."""
    out: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if any(t in _DIGIT_WORD for t in run) and len(run) > 1:
            out.append("".join(_DIGIT_WORD.get(t, t.upper()) for t in run))
        else:
            out.extend(run)
        run.clear()

    for word in words.lower().split():
        if word in _DIGIT_WORD or (len(word) == 1 and word not in ("a", "i")):
            run.append(word)
            continue
        flush()
        out.append(word.capitalize() if word in _FIRST_PERSON else word)
    flush()
    text = " ".join(out)
    return text[:1].upper() + text[1:]


# ---------------------------------------------------------------------------- spoken form


def _below_hundred(n: int) -> list[str]:
    if n < 10:
        return [DIGITS[n]]
    if n < 20:
        return [_TEENS[n - 10]]
    tens, ones = divmod(n, 10)
    return [_TENS[tens]] + ([DIGITS[ones]] if ones else [])


def _number(n: int) -> list[str]:
    """Cardinal words for 0..9999 (larger numbers are read digit by digit)."""
    if n >= 10_000:
        return [DIGITS[int(d)] for d in str(n)]
    words: list[str] = []
    thousands, rest = divmod(n, 1000)
    hundreds, rest = divmod(rest, 100)
    if thousands:
        words += [*_below_hundred(thousands), "thousand"]
    if hundreds:
        words += [DIGITS[hundreds], "hundred"]
    if rest or not words:
        words += (["and"] if words else []) + _below_hundred(rest)
    return words


def _ordinal(words: list[str]) -> list[str]:
    last = words[-1]
    if last in _ORDINAL:
        return [*words[:-1], _ORDINAL[last]]
    return [*words[:-1], last[:-1] + "ieth" if last.endswith("y") else last + "th"]


def _spell_number(part: str) -> list[str]:
    match = re.fullmatch(r"(\d+)(?:\.(\d+))?(st|nd|rd|th)?", part)
    if match is None:
        return [DIGITS[int(c)] if c.isdigit() else c for c in part]
    whole, fraction, suffix = match.groups()
    words = _number(int(whole)) if len(whole) <= 4 else [DIGITS[int(d)] for d in whole]
    if suffix:
        words = _ordinal(words)
    if fraction:
        words += ["point", *(DIGITS[int(d)] for d in fraction)]
    return words


def spoken(text: str, *, digit_by_digit: bool = False) -> list[str]:
    """``text`` as the lower-case words a speaker reads: numbers spelled out, no punctuation.

    ``digit_by_digit`` reads whole numbers one digit at a time, as callers give account
    numbers ("1001" -> "one zero zero one").
    """
    words: list[str] = []
    for part in re.findall(r"\d+(?:\.\d+)?(?:st|nd|rd|th)?|[a-z]+(?:'[a-z]+)?", text.lower()):
        if digit_by_digit and part.isdigit():
            words += [DIGITS[int(d)] for d in part]
        else:
            words += _spell_number(part) if part[0].isdigit() else [part]
    return words


def sentence_phrase(template: str) -> str:
    """An agent's sentence (with ``{placeholders}``) as a phrase: each placeholder a value."""
    parts = re.split(r"\{[^}]*\}", template)
    return " {value} ".join(" ".join(spoken(p)) for p in parts).strip()


def word_errors(expected: list[str], heard: list[str]) -> int:
    """Word edits (substitutions, insertions, deletions) from ``expected`` to ``heard``."""
    row = list(range(len(heard) + 1))
    for i, want in enumerate(expected, 1):
        previous, row[0] = row[0], i
        for j, got in enumerate(heard, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (want != got))
    return row[-1]
