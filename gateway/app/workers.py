"""``voicegw serve --workers N``: N gateway processes under one supervisor.

Each worker is an ordinary single-endpoint ``voicegw serve`` (one pjsua2 endpoint, at most
``--max-calls`` calls) started with ``--worker-index i`` and its own ports
(:func:`worker_layout`):

* SIP: ``--sip-port + i`` (UDP and TCP), the port Kamailio's dispatcher list names;
* HTTP: ``--http-port + 1 + i`` (the supervisor answers on ``--http-port`` itself);
* RTP: the ``--rtp-port`` / ``--rtp-port-range`` range cut into N equal, disjoint slices.

The supervisor (:class:`Supervisor`) does no SIP and no audio. It

* restarts a worker that exits unexpectedly (after 0.5 s, doubling up to 30 s while it keeps
  crashing within a minute of starting) and records that worker's live calls as failed CDRs
  (:class:`~gateway.app.worker_calls.LiveCalls`, fed by each worker's call journal pipe);
* on SIGTERM/SIGINT passes SIGTERM to every worker, which drains (no new calls; live calls
  finish until ``--drain-timeout``, then are ended politely), waits for them, and exits 0;
  a worker still there ``_KILL_GRACE_S`` after its drain deadline is killed and its calls
  recorded as failed;
* serves ``/healthz``, ``/readyz``, ``/calls`` and ``/metrics`` for all workers together
  (:mod:`gateway.app.supervisor_http`).

Idle, it costs nothing: it waits on the workers' exits and journal pipes and on its HTTP
socket; nothing polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from gateway.app.gateway import GatewaySettings
from gateway.app.worker_calls import SUPERVISOR_FD_ENV, SUPERVISOR_PID_ENV, LiveCalls
from gateway.errors import ConfigError, ConfigIssue
from gateway.observability.cdr import CdrWriter

__all__ = ["Supervisor", "WorkerSpec", "worker_command", "worker_layout"]

log = structlog.get_logger()

_MIN_RTP_PORTS = 8  # 4 calls x (RTP + RTCP)
_KILL_GRACE_S = 25.0  # a draining worker's goodbye prompts and pjsua's shutdown take this long
_FIRST_BACKOFF_S = 0.5
_MAX_BACKOFF_S = 30.0
_STABLE_S = 60.0


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    """Where worker ``index`` listens."""

    index: int
    sip_port: int
    http_port: int
    rtp_port: int
    rtp_port_range: int


def worker_layout(settings: GatewaySettings, count: int) -> list[WorkerSpec]:
    """Ports for ``count`` workers from the serve settings (ConfigError if they do not fit)."""
    sip, rtp, span = settings.sip.endpoint.port, settings.sip.rtp_port, settings.sip.rtp_port_range
    per_worker = span // count if count > 0 else 0
    problems = []
    if count < 1:
        problems.append("--workers must be at least 1")
    elif per_worker < _MIN_RTP_PORTS:
        problems.append(
            f"--rtp-port-range {span} leaves {per_worker} RTP ports per worker for "
            f"{count} workers; each needs at least {_MIN_RTP_PORTS}"
        )
    elif sip + count - 1 > 65535 or settings.http_port + count > 65535:
        problems.append("the workers' SIP or HTTP ports would go past 65535")
    if sip == 0 or settings.http_port == 0:
        problems.append("--sip-port and --http-port must be fixed ports with --workers")
    if problems:
        raise ConfigError([ConfigIssue("serve", None, "", p) for p in problems])
    return [
        WorkerSpec(
            index=i,
            sip_port=sip + i,
            http_port=settings.http_port + 1 + i,
            rtp_port=rtp + i * per_worker,
            rtp_port_range=per_worker,
        )
        for i in range(count)
    ]


def worker_command(argv: Sequence[str], spec: WorkerSpec) -> list[str]:
    """The worker's command line: this process's ``voicegw`` arguments, its ports appended
    (the last occurrence of a flag wins)."""
    return [
        sys.executable, "-m", "gateway.app.cli", *argv,
        "--worker-index", str(spec.index),
        "--sip-port", str(spec.sip_port),
        "--http-port", str(spec.http_port),
        "--rtp-port", str(spec.rtp_port),
        "--rtp-port-range", str(spec.rtp_port_range),
    ]  # fmt: skip


class WorkerProcess:
    """One worker slot: its current process (if any) and its history."""

    def __init__(self, spec: WorkerSpec) -> None:
        self.spec = spec
        self.proc: asyncio.subprocess.Process | None = None
        self.started_at = 0.0
        self.restarts = 0
        self.stopping = False

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.running and self.proc is not None else None


def exit_reason(returncode: int) -> str:
    """``exit status 3`` / ``killed by SIGKILL``."""
    if returncode < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-returncode).name}"
    return f"exit status {returncode}"


class Supervisor:
    """Runs and supervises the workers described by ``specs``."""

    def __init__(
        self,
        settings: GatewaySettings,
        specs: Sequence[WorkerSpec],
        command: Callable[[WorkerSpec], list[str]],
        *,
        on_cdr: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.settings = settings
        self.workers = [WorkerProcess(spec) for spec in specs]
        self._command = command
        self.live = LiveCalls(CdrWriter(settings.cdr_dir, on_write=on_cdr))
        self.on_exit: Callable[[WorkerProcess, str], None] = lambda _w, _reason: None
        """Told every worker exit (the metrics keep the dead worker's counters)."""
        self.stopping = False
        self._stopped = asyncio.Event()
        """Set with ``stopping``: ends a restart back-off at once."""
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        for worker in self.workers:
            self._tasks.append(
                asyncio.create_task(self._keep(worker), name=f"worker:{worker.spec.index}")
            )

    async def stop(self) -> None:
        """SIGTERM every worker (they drain), wait, kill stragglers, record their calls."""
        self.stopping = True
        self._stopped.set()
        for worker in self.workers:
            worker.stopping = True
            if worker.running and worker.proc is not None:
                with contextlib.suppress(ProcessLookupError):
                    worker.proc.send_signal(signal.SIGTERM)
        deadline = self.settings.drain_timeout_s + _KILL_GRACE_S
        _done, pending = await asyncio.wait(self._tasks, timeout=deadline)
        for worker in self.workers:
            if worker.running and worker.proc is not None:
                log.warning("worker_killed", worker=worker.spec.index, after_s=deadline)
                with contextlib.suppress(ProcessLookupError):
                    worker.proc.kill()
        if pending:
            await asyncio.wait(pending, timeout=10)

    # ---------------------------------------------------------------------------- one slot

    async def _keep(self, worker: WorkerProcess) -> None:
        """Run ``worker`` until the supervisor stops; restart it whenever it exits."""
        backoff = _FIRST_BACKOFF_S
        while not self.stopping:
            try:
                reason = exit_reason(await self._run_once(worker))
            except OSError as exc:  # could not even start it (e.g. the executable is gone)
                reason = f"could not start: {exc}"
            if self.stopping:
                return
            if time.monotonic() - worker.started_at >= _STABLE_S:
                backoff = _FIRST_BACKOFF_S
            log.warning("worker_restarting", worker=worker.spec.index, reason=reason, in_s=backoff)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), backoff)
            backoff = min(backoff * 2, _MAX_BACKOFF_S)
            worker.restarts += 1

    async def _run_once(self, worker: WorkerProcess) -> int:
        """Start the worker, follow its journal until it exits; record what it left behind."""
        index = worker.spec.index
        read_fd, write_fd = os.pipe()
        worker.started_at = time.monotonic()
        try:
            worker.proc = await asyncio.create_subprocess_exec(
                *self._command(worker.spec),
                stdin=asyncio.subprocess.DEVNULL,
                pass_fds=(write_fd,),
                env={
                    **os.environ,
                    SUPERVISOR_FD_ENV: str(write_fd),
                    SUPERVISOR_PID_ENV: str(os.getpid()),
                },
            )
        except OSError:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        log.info("worker_started", worker=index, pid=worker.proc.pid, sip_port=worker.spec.sip_port)
        if worker.stopping:  # stop() came while it was being started: it drains at once
            with contextlib.suppress(ProcessLookupError):
                worker.proc.send_signal(signal.SIGTERM)
        journal = asyncio.create_task(self._follow(index, read_fd), name=f"journal:{index}")
        returncode = await worker.proc.wait()
        await journal  # the pipe ends with the process: every line is in
        reason = exit_reason(returncode)
        graceful = worker.stopping and returncode == 0
        (log.info if graceful else log.warning)("worker_exited", worker=index, reason=reason)
        self.live.fail_all(index, f"worker {index} exited ({reason}) during the call")
        self.on_exit(worker, reason)
        return returncode

    async def _follow(self, index: int, read_fd: int) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_fd, "rb", buffering=0)
        )
        try:
            while line := await reader.readline():
                self.live.feed(index, line)
        finally:
            transport.close()
