"""Worker layout and command lines: each worker its own SIP port, HTTP port and RTP slice."""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import time
from pathlib import Path

import pytest

from gateway.adapters.sip.endpoint import EndpointSettings
from gateway.adapters.sip.stack import SipSettings
from gateway.app.gateway import GatewaySettings
from gateway.app.workers import (
    Supervisor,
    WorkerSpec,
    exit_reason,
    worker_command,
    worker_layout,
)
from gateway.errors import ConfigError


def _settings(
    sip: int = 5070, http: int = 8080, rtp: int = 10000, span: int = 1000
) -> GatewaySettings:
    return GatewaySettings(
        config=Path("graph.yaml"),
        sip=SipSettings(endpoint=EndpointSettings(port=sip), rtp_port=rtp, rtp_port_range=span),
        http_port=http,
    )


def test_layout_gives_each_worker_consecutive_ports_and_a_disjoint_rtp_slice() -> None:
    """Worker i: SIP base+i, HTTP base+1+i; the RTP range cut into equal, disjoint slices."""
    specs = worker_layout(_settings(), 4)
    assert [s.sip_port for s in specs] == [5070, 5071, 5072, 5073]
    assert [s.http_port for s in specs] == [8081, 8082, 8083, 8084]
    assert [(s.rtp_port, s.rtp_port_range) for s in specs] == [
        (10000, 250),
        (10250, 250),
        (10500, 250),
        (10750, 250),
    ]


@pytest.mark.parametrize(
    ("count", "span", "message"),
    [
        (0, 1000, "at least 1"),
        (200, 1000, "RTP ports per worker"),
    ],
)
def test_layouts_that_cannot_work_are_refused(count: int, span: int, message: str) -> None:
    """No workers, or too few RTP ports for four calls each: a configuration error."""
    with pytest.raises(ConfigError, match=message):
        worker_layout(_settings(span=span), count)


def test_ephemeral_ports_are_refused() -> None:
    """Kamailio's list names fixed ports: port 0 cannot be used with --workers."""
    with pytest.raises(ConfigError, match="fixed ports"):
        worker_layout(_settings(sip=0), 2)


def test_worker_command_appends_its_ports_to_the_original_arguments() -> None:
    """The worker re-runs the same voicegw arguments; its own flags come last and win."""
    argv = ["--log-format", "json", "serve", "--config", "g.yaml", "--workers", "2"]
    spec = WorkerSpec(index=1, sip_port=5071, http_port=8082, rtp_port=10500, rtp_port_range=500)
    command = worker_command(argv, spec)
    assert command[1:3] == ["-m", "gateway.app.cli"]
    assert command[3 : 3 + len(argv)] == argv
    assert command[3 + len(argv) :] == [
        "--worker-index", "1", "--sip-port", "5071", "--http-port", "8082",
        "--rtp-port", "10500", "--rtp-port-range", "500",
    ]  # fmt: skip


def test_exit_reasons_read_like_the_shell() -> None:
    """A signal death names the signal; an exit names its status."""
    assert exit_reason(-9) == "killed by SIGKILL"
    assert exit_reason(3) == "exit status 3"


_SLEEPER = """
import signal, sys, time
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
time.sleep(120)
"""


async def test_stop_while_a_worker_is_being_started_still_drains_it(tmp_path: Path) -> None:
    """SIGTERM reaching the supervisor while it is starting a worker: the new worker is told to
    drain as soon as it exists, instead of taking calls until the kill deadline."""
    settings = dataclasses.replace(_settings(), cdr_dir=tmp_path, drain_timeout_s=20)
    stopping: list[asyncio.Task[None]] = []

    def command(spec: WorkerSpec) -> list[str]:
        # the signal arrives while the process is being spawned (this coroutine is suspended)
        stopping.append(asyncio.get_running_loop().create_task(supervisor.stop()))
        return [sys.executable, "-c", _SLEEPER]

    supervisor = Supervisor(settings, worker_layout(settings, 1), command)
    exits: list[str] = []
    supervisor.on_exit = lambda _worker, reason: exits.append(reason)
    started = time.monotonic()
    await supervisor.start()
    await asyncio.wait_for(asyncio.gather(*supervisor._tasks), 60)
    await stopping[0]
    took = time.monotonic() - started
    assert exits and exits[0] in ("exit status 0", "killed by SIGTERM")
    assert took < 10, took  # not the 20 s drain deadline plus the kill grace
