"""Building blocks of the agent-graph models: the strict base model, checked string types and
the ``{placeholder}`` rules shared by instructions and phone prompts."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

__all__ = [
    "PLACEHOLDERS",
    "HttpUrl",
    "ImportPath",
    "Name",
    "Prompt",
    "SipUri",
    "Strict",
    "check_placeholders",
    "matching",
    "render_placeholders",
]

PLACEHOLDERS = frozenset({"caller", "dialed", "now"})
"""Placeholders allowed in agent instructions and phone prompts."""

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def matching(pattern: str, what: str) -> AfterValidator:
    """A validator: the whole string matches ``pattern``, else \"... is not {what}\"."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"{value!r} is not {what}")
        return value

    return AfterValidator(check)


Name = Annotated[
    str,
    matching(
        r"[A-Za-z][A-Za-z0-9_-]{0,47}",
        "a valid name (a letter, then up to 47 letters, digits, '_' or '-')",
    ),
]
"""Agent, tool and transfer-target names; short enough for ``transfer_to_<agent>`` (64 max)."""

ImportPath = Annotated[
    str, matching(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", "an import path 'package.module:function'")
]
"""A Python callable as ``package.module:function``."""

SipUri = Annotated[
    str,
    matching(r"sips?:\S+|tel:\+?[0-9*#()\-. ]+", "a SIP or tel URI (sip:user@host, tel:+1...)"),
]

HttpUrl = Annotated[str, matching(r"https?://\S+", "an http(s) URL")]


class Strict(BaseModel):
    """Unknown keys are errors (a typo must not be ignored); parsed specs are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def check_placeholders(text: str) -> str:
    """Reject ``{name}`` placeholders other than the known ones (typos would be read out)."""
    unknown = sorted({m for m in _PLACEHOLDER.findall(text) if m not in PLACEHOLDERS})
    if unknown:
        known = ", ".join("{" + p + "}" for p in sorted(PLACEHOLDERS))
        bad = ", ".join("{" + u + "}" for u in unknown)
        raise ValueError(f"unknown placeholder {bad} (known: {known})")
    return text


def render_placeholders(text: str, values: dict[str, str]) -> str:
    """Replace ``{caller}``, ``{dialed}``, ``{now}``; other braces are left as written."""
    return _PLACEHOLDER.sub(lambda m: values.get(m[1], m[0]), text)


Prompt = Annotated[str, Field(min_length=1)]
