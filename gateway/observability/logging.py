"""structlog, configured once: JSON lines for machines, a console view for people.

Every event is a snake_case past-tense name with keyword fields. ``call_id``, ``agent`` and
``transport`` are bound per call through context variables (:func:`bind_call`), so every line a
call's tasks log carries them. A redaction processor replaces the value of any key that looks
like a credential, and scrubs credential-shaped strings (API keys, bearer tokens, webhook
secrets) wherever they appear.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any, Literal, TextIO

import structlog

__all__ = ["REDACTED", "LogFormat", "bind_call", "configure_logging", "get_logger", "redact"]

LogFormat = Literal["auto", "json", "console"]
REDACTED = "[redacted]"

_SENSITIVE_KEY = re.compile(
    r"api[_-]?key|authori[sz]ation|secret|passw(or)?d|token|credential|cookie", re.IGNORECASE
)
_SENSITIVE_VALUE = re.compile(
    r"(?:\bsk-[A-Za-z0-9_\-]{8,}|\bwhsec_[A-Za-z0-9+/=]{8,}|\bBearer\s+[A-Za-z0-9._\-+/=]{8,})"
)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return _SENSITIVE_VALUE.sub(REDACTED, value)
    if isinstance(value, Mapping):
        return {k: REDACTED if _is_sensitive(k) else _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_scrub(v) for v in value)
    return value


def _is_sensitive(key: object) -> bool:
    return isinstance(key, str) and _SENSITIVE_KEY.search(key) is not None


def redact(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: hide credential values by key name and by shape."""
    for key, value in event_dict.items():
        event_dict[key] = REDACTED if _is_sensitive(key) else _scrub(value)
    return event_dict


def configure_logging(
    fmt: LogFormat = "auto", level: str = "info", stream: TextIO | None = None
) -> None:
    """Configure structlog for the process. ``auto`` picks JSON unless ``stream`` is a TTY."""
    out = stream if stream is not None else sys.stderr
    if fmt == "auto":
        fmt = "console" if out.isatty() else "json"
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=out.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_level(level)),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=True,
    )


def _level(name: str) -> int:
    value = logging.getLevelNamesMapping().get(name.upper())
    if value is None:
        raise ValueError(f"unknown log level {name!r}")
    return value


def get_logger(**initial: Any) -> Any:
    """A structlog logger, optionally with initial bound fields."""
    return structlog.get_logger(**initial)


@contextmanager
def bind_call(
    call_id: str, *, agent: str | None = None, transport: str | None = None
) -> Iterator[None]:
    """Bind ``call_id`` (and ``agent`` / ``transport`` if known) for the enclosed code."""
    fields = {"call_id": call_id, "agent": agent, "transport": transport}
    with structlog.contextvars.bound_contextvars(
        **{k: v for k, v in fields.items() if v is not None}
    ):
        yield
