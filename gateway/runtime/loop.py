"""Which asyncio event loop a voicegw process runs on: uvloop when it is installed.

Every call's audio crosses the event loop 50 times a second each way, so the loop's own cost
per wakeup and per socket write is a large share of a call's CPU. uvloop (libuv, the loop of
uvicorn and many production asyncio servers) does the same work in C: ``bench/compare_sdk.py``
measures the difference. ``VOICEGW_EVENT_LOOP`` chooses: ``auto`` (the default: uvloop if it
can be imported, else asyncio's own), ``uvloop`` (required) or ``asyncio``. Worker processes
inherit the choice with the environment.
"""

from __future__ import annotations

import asyncio
import importlib
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from gateway.errors import ConfigError, ConfigIssue

__all__ = ["ENV_VAR", "LOOPS", "loop_name", "run"]

ENV_VAR = "VOICEGW_EVENT_LOOP"
LOOPS = ("auto", "uvloop", "asyncio")

T = TypeVar("T")


def _uvloop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        module = importlib.import_module("uvloop")
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = module.new_event_loop
    return factory


def _choice(environ: dict[str, str] | None = None) -> str:
    value = (environ if environ is not None else os.environ).get(ENV_VAR, "").strip().lower()
    if not value:
        return "auto"
    if value not in LOOPS:
        raise ConfigError(
            [ConfigIssue(ENV_VAR, None, "", f"{value!r} is not one of {', '.join(LOOPS)}")]
        )
    return value


def _factory(
    environ: dict[str, str] | None = None,
) -> tuple[str, Callable[[], asyncio.AbstractEventLoop] | None]:
    choice = _choice(environ)
    if choice == "asyncio":
        return "asyncio", None
    factory = _uvloop_factory()
    if factory is not None:
        return "uvloop", factory
    if choice == "uvloop":
        raise ConfigError(
            [ConfigIssue(ENV_VAR, None, "", "uvloop was asked for but is not installed")]
        )
    return "asyncio", None


def loop_name(environ: dict[str, str] | None = None) -> str:
    """The loop :func:`run` would use: ``"uvloop"`` or ``"asyncio"`` (ConfigError if invalid)."""
    return _factory(environ)[0]


def run(main: Coroutine[Any, Any, T], *, environ: dict[str, str] | None = None) -> T:
    """``asyncio.run(main)`` on the chosen loop; raises ConfigError for a bad choice."""
    try:
        _, factory = _factory(environ)
    except ConfigError:
        main.close()  # never awaited: do not warn about it
        raise
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)
