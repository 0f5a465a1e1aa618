"""``no_urls``: no web addresses, e-mail addresses or markdown read out on the phone.

Written forms: ``http(s)://...``, ``www.`` hosts, bare domains with a known top-level domain
(``example.com/path``, ``shop.example.co.uk``), e-mail addresses (from the first ``x@y``).
Spoken forms: ``example dot com``, ``name at example dot co dot uk``, ``john dot smith at
gmail``, ``jane at example.com``, ``w w w dot``, ``h t t p s colon slash slash``.
Markdown: ``**``, ``__``, ``*emphasis``, backticks, ``[text](link)``, ``# headings``, bullet and
numbered list lines, table rows, horizontal rules, ``•``.

Ordinary speech stays clean: ``at the station`` has no ``dot <tld>``; ``Dr. Smith``, ``e.g.``,
``9.30`` and ``£3.50`` have no known top-level domain right after the dot; ``the dot com era``
and ``polka dot`` start with a function word; ``press * for more`` has no word after the star.
Top-level domains that are English words (``in``, ``it``, ``is``, ``me``, ``us`` ...) are left
out of the written list so that a missing space after a full stop does not trip; ``ASP.NET``
trips.

The offset is where the address (its local part, for e-mail) or the markdown mark starts.

Cost: the text is lower-cased once and each finder runs only when a cheap substring test says
it can match (``@``, ``dot``, ``://``, a backtick ...); the always-on finder is anchored on
``.``, so a plain sentence costs a few microseconds.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from gateway.core.agents.guardrails.base import GuardrailTrip, lowered, trailing_token_start

__all__ = ["NoUrls"]

_TLDS = (
    "com|org|net|edu|gov|mil|info|biz|io|ai|co|uk|eu|de|fr|es|nl|ch|se|dk|fi|ie|pl|pt|ca|au|nz"
    "|jp|cn|ru|br|mx|za|tv|ly|fm|gg|app|dev|xyz"
)
_SPOKEN_TLDS = "com|org|net|edu|gov|io|ai|co|uk|eu|de|fr|ie|ca|au|nz|info|biz|app|dev|tv"
_MAIL_HOSTS = ("gmail", "googlemail", "hotmail", "outlook", "yahoo", "icloud", "aol", "proton")
_STOP = re.compile("the|a|an|and|or|on|of|in|at|to|by|for|with|that|this|is|polka")
"""Words that do not start a spoken domain (``the dot com era``, ``polka dot``)."""
_NOT_LOCAL = re.compile(
    "look|looking|arrive|arrived|arriving|be|is|are|was|were|me|us|you|him|her|them|it|online"
    "|here|there|just|or|and|the|a|an|on|available|stay|staying|meet|visit|find|go|up|back"
)
"""Words before ``at`` that are not a spoken e-mail's local part (``look at example dot com``)."""

_LABEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-.")

_WORD = r"[a-z0-9][a-z0-9-]*"
_DOMAIN_END = re.compile(rf"\.(?:{_TLDS})(?![\w-])")
_SPOKEN_TLD = re.compile(rf"dot(?<=\sdot)\s+(?:{_SPOKEN_TLDS})\b")
_CHAIN_BEFORE = re.compile(rf"(?<![\w-]){_WORD}(?:\s+dot\s+{_WORD})*\s+\Z")
"""The labels before a spoken ``dot <tld>``: ``example dot co`` of ``... dot uk``."""
_LOCAL_BEFORE = re.compile(
    r"(?<![\w.+-])[a-z0-9][\w+-]*(?:\s+(?:dot|underscore|dash|hyphen)\s+[\w+-]+)*\s+at\s+\Z"
)
"""A spoken e-mail's local part and ``at`` before a domain: ``john dot smith at``."""
_MAIL_HOST = re.compile(rf"at(?<=\sat)\s+(?P<host>{'|'.join(_MAIL_HOSTS)})\b")
_FIRST_WORD = re.compile(r"[\w-]+")
_WINDOW = 80

_SIMPLE: tuple[tuple[tuple[str, ...], re.Pattern[str], str], ...] = (
    (("://", "http", "ftp:", "mailto:"), re.compile(r"(?:https?|ftp)://|mailto:\S"), "web address"),
    (("www",), re.compile(r"www\d?\.[a-z0-9]"), "web address"),
    (
        ("dot", "colon", "slash"),
        re.compile(
            r"w\s?w\s?w\s+dot\b|triple[\s-]w\s+dot\b|dub\s+dub\s+dub\s+dot\b"
            r"|double[\s-]?u\s+double[\s-]?u\s+double[\s-]?u\s+dot\b"
            r"|h\s?t\s?t\s?p\s?s?\s*(?:colon|:)\s*(?:forward\s+)?slash"
            r"|colon\s+(?:forward\s+)?slash\s+(?:forward\s+)?slash\b"
        ),
        "spoken web address",
    ),
    (("**", "__"), re.compile(r"\*\*|__(?=\S)"), "markdown bold"),
    (("`",), re.compile("`"), "markdown code"),
    (("](",), re.compile(r"\[[^\]\n]*\]\("), "markdown link"),
    (("*",), re.compile(r"\*(?<![\w*]\*)[a-z]"), "markdown emphasis"),
    (("\u2022",), re.compile("\u2022"), "markdown list"),
)
"""(triggers, pattern, reason): the pattern runs only when one trigger is in the text."""

_LINE_MARKDOWN = re.compile(
    r"(?P<heading>[ \t]{0,3}#{1,6}[ \t])"
    r"|(?P<table>[ \t]*\|)"
    r"|(?P<rule>[ \t]*(?:[-*_][ \t]*){3,}$)"
    r"|(?P<list>[ \t]*[-*+][ \t]+)"
    r"|(?P<numbered>[ \t]*[0-9]{1,3}[.)][ \t]+)",
    re.MULTILINE,
)
"""Markdown recognised at the start of a line (a numbered item only after a line break), as
soon as its marker is complete: speech never starts a line with ``- `` or ``|``."""

_CONNECTORS = ("dot", " at", "underscore", "dash", "hyphen")
_TAIL = re.compile(
    r"(?<![\w.+-])[\w.+-]+(?:\s+(?:dot|at|underscore|dash|hyphen)\s+[\w.+-]+)*"
    r"(?:\s+[a-z]+)?\s*\Z"
)
_LETTERS = re.compile(r"(?<![\w.+'\u2019-])[a-z](?:\s+[a-z](?![a-z]))*(?:\s+[a-z]+)?\s*\Z")
"""Letters spelled out at the end of the text: ``w w w``, ``h t t p`` (``dot`` may follow)."""
_CONNECTED = re.compile(r"\s(?:dot|at|underscore|dash|hyphen)\b")
"""Words joined by spoken address connectors at the end of the text, and one more word that may
be the next connector: ``jane at example``, ``john dot smith a``."""

Finding = tuple[int, str]


def _first_word(low: str, start: int) -> str:
    word = _FIRST_WORD.match(low, start)
    return word[0] if word else ""


def _local_part(low: str, domain_start: int) -> int | None:
    """Start of ``<local part> at `` right before ``domain_start``, if there is one."""
    found = _LOCAL_BEFORE.search(low, max(0, domain_start - _WINDOW), domain_start)
    if found is None or _NOT_LOCAL.fullmatch(_first_word(low, found.start())):
        return None
    return found.start()


def _written_domain(low: str) -> Finding | None:
    for end in _DOMAIN_END.finditer(low):
        dot = end.start()
        if not dot or low[dot - 1] not in _LABEL_CHARS or low[dot - 1] == ".":
            continue
        start = dot
        while start and low[start - 1] in _LABEL_CHARS:
            start -= 1
        while low[start] in ".-":
            start += 1
        if start and low[start - 1] in "@/":
            continue  # part of an e-mail address or URL, which the other finders report
        local = _local_part(low, start) if " at " in low else None
        if local is not None:
            return local, "spoken e-mail address"
        return start, "web address"
    return None


def _spoken_domain(low: str) -> Finding | None:
    if "dot" not in low:
        return None
    for tld in _SPOKEN_TLD.finditer(low):
        chain = _CHAIN_BEFORE.search(low, max(0, tld.start() - _WINDOW), tld.start())
        if chain is None or _STOP.fullmatch(_first_word(low, chain.start())):
            continue
        local = _local_part(low, chain.start())
        if local is not None:
            return local, "spoken e-mail address"
        return chain.start(), "spoken web address"
    return None


def _mail_host(low: str) -> Finding | None:
    if " at " not in low or not any(host in low for host in _MAIL_HOSTS):
        return None
    for host in _MAIL_HOST.finditer(low):
        local = _local_part(low, host.start("host"))
        if local is not None:
            return local, "spoken e-mail address"
    return None


def _email(low: str) -> Finding | None:
    at = low.find("@")
    while at != -1:
        start = at
        while start and (low[start - 1].isalnum() or low[start - 1] in "_.+-"):
            start -= 1
        after = low[at + 1 : at + 2]
        if start < at and after and (after.isalnum() or after in "_-"):
            return start, "e-mail address"
        at = low.find("@", at + 1)
    return None


def _simple(low: str) -> Finding | None:
    best: Finding | None = None
    for triggers, pattern, reason in _SIMPLE:
        if any(t in low for t in triggers):
            found = pattern.search(low)
            if found is not None and (best is None or found.start() < best[0]):
                best = found.start(), reason
    return best


def _line_markdown(low: str) -> Finding | None:
    line = 0
    while line != -1:
        found = _LINE_MARKDOWN.match(low, line)
        if found is not None and (line or found.lastgroup != "numbered"):
            return line, f"markdown {found.lastgroup}"
        line = low.find("\n", line) + 1 or -1
    return None


_FINDERS: tuple[Callable[[str], Finding | None], ...] = (
    _simple,
    _email,
    _written_domain,
    _spoken_domain,
    _mail_host,
    _line_markdown,
)


def _open_link(text: str, hold: int) -> int:
    """``hold``, or earlier: the ``[`` of a bracket not yet followed by ``](``."""
    bracket = text.rfind("[", max(0, len(text) - 2 * _WINDOW))
    if bracket != -1 and bracket < hold:
        closing = text.find("]", bracket)
        if closing == -1 or not text[closing + 1 :]:
            return bracket
    return hold


class NoUrls:
    """Trips on URLs, e-mail addresses and markdown, written or spoken (fast)."""

    __slots__ = ("name",)

    slow = False

    def __init__(self, name: str = "no_urls") -> None:
        self.name = name

    def check(self, text: str, final: bool = True) -> GuardrailTrip | None:
        low = lowered(text)
        best: Finding | None = None
        for finder in _FINDERS:
            found = finder(low)
            if found is not None and (best is None or found[0] < best[0]):
                best = found
        return GuardrailTrip(self.name, best[1], best[0]) if best is not None else None

    def hold_from(self, text: str) -> int:
        """The start of a spoken address still being said (``jane at example``,
        ``example dot``), spelled letters (``w w w``) or a ``[bracket]`` that may become a
        link, else of the unfinished last word (``example`` of ``example.com``).

        The first word of a spoken address is released before ``dot`` or ``at`` arrives:
        ``jane`` alone is harmless, and holding every word back would delay all speech."""
        token = _open_link(text, trailing_token_start(text))
        start = max(0, len(text) - _WINDOW)
        low = lowered(text[start:])
        letters = _LETTERS.search(low)
        if letters is not None:
            token = min(start + letters.start(), token)
        if not any(c in low for c in _CONNECTORS):
            return token
        tail = _TAIL.search(low)
        if tail is None or not _CONNECTED.search(tail[0]):
            return token
        return min(start + tail.start(), token)
