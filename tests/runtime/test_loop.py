"""The event loop choice: uvloop by default, asyncio on request, a clear error otherwise."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
import uvloop

from gateway.errors import ConfigError
from gateway.runtime import loop as event_loop


async def _loop_type() -> type:
    await asyncio.sleep(0)
    return type(asyncio.get_running_loop())


def test_auto_runs_on_uvloop_when_installed() -> None:
    assert event_loop.loop_name({}) == "uvloop"
    assert event_loop.run(_loop_type(), environ={}) is uvloop.Loop


def test_asyncio_on_request() -> None:
    environ = {event_loop.ENV_VAR: " AsyncIO "}
    assert event_loop.loop_name(environ) == "asyncio"
    assert not issubclass(event_loop.run(_loop_type(), environ=environ), uvloop.Loop)


def test_uvloop_on_request_and_results_come_back() -> None:
    async def add(a: int, b: int) -> int:
        await asyncio.sleep(0.001)
        return a + b

    assert event_loop.run(add(2, 3), environ={event_loop.ENV_VAR: "uvloop"}) == 5


def test_unknown_choice_is_a_config_error_and_the_coroutine_is_not_left_unawaited() -> None:
    coro = _loop_type()
    with pytest.raises(ConfigError) as caught:
        event_loop.run(coro, environ={event_loop.ENV_VAR: "trio"})
    assert "'trio' is not one of auto, uvloop, asyncio" in str(caught.value)
    assert coro.cr_frame is None  # closed, so no "never awaited" warning


def test_cli_refuses_a_bad_choice_before_doing_anything() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gateway.app.cli", "check", "agents_config/front_desk.yaml"],
        env={"VOICEGW_EVENT_LOOP": "fast", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 2
    assert "VOICEGW_EVENT_LOOP" in done.stderr
    assert "'fast' is not one of" in done.stderr
