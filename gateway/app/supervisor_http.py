"""The supervisor's process: the workers, plus one HTTP face for all of them.

``/healthz``  the supervisor is up.
``/readyz``   200 when at least one worker is ready and the supervisor is not stopping; the
              body lists every worker (pid, SIP port, ready, active calls, restarts).
``/calls``    the workers' recent calls (and the calls recorded for crashed workers) merged;
              ``?sip_call_id=`` filters as on a single gateway.
``/metrics``  every worker's metrics summed, with the supervisor's own (worker restarts,
              running workers, calls recorded as failed when a worker died); see
              :mod:`gateway.observability.metrics_merge`.

Workers are asked only when a request comes (nothing polls), each with a short timeout; one
that does not answer is left out of ``/readyz`` and ``/calls`` and contributes its previous
counters to ``/metrics``.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections import deque
from collections.abc import Sequence
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge

from gateway.adapters.http_client import HttpClientError, request
from gateway.adapters.http_server import HttpServer, Request, Response
from gateway.app.gateway import GatewaySettings
from gateway.app.recent_calls import calls_response
from gateway.app.workers import Supervisor, WorkerProcess, worker_command, worker_layout
from gateway.observability.metrics import CALLS_HELP, CONTENT_TYPE
from gateway.observability.metrics_merge import MetricsMerger

__all__ = ["SupervisorServer"]

log = structlog.get_logger()

_ASK_TIMEOUT_S = 2.0


class SupervisorServer:
    """The supervisor process: :class:`Supervisor` + HTTP + merged metrics."""

    def __init__(self, settings: GatewaySettings, workers: int, argv: Sequence[str]) -> None:
        specs = worker_layout(settings, workers)
        self.settings = settings
        self.own = CollectorRegistry()
        self._failed = Counter("voicegw_calls", CALLS_HELP, ["outcome"], registry=self.own)
        self._restarts = Counter(
            "voicegw_worker_restarts", "Workers that exited unexpectedly.", registry=self.own
        )
        self.merger = MetricsMerger(self.own)
        self.recent: deque[dict[str, Any]] = deque(maxlen=200)
        self.supervisor = Supervisor(
            settings, specs, lambda spec: worker_command(argv, spec), on_cdr=self._recorded
        )
        self.supervisor.on_exit = self._exited
        Gauge(
            "voicegw_workers_running", "Worker processes running.", registry=self.own
        ).set_function(lambda: float(self._running()))
        self.http = HttpServer(
            {
                ("GET", "/healthz"): self._healthz,
                ("GET", "/readyz"): self._readyz,
                ("GET", "/calls"): self._calls,
                ("GET", "/metrics"): self._metrics,
            },
            settings.http_host,
            settings.http_port,
        )
        self._stop = asyncio.Event()

    def _running(self) -> int:
        return sum(1 for w in self.supervisor.workers if w.running)

    async def run_until_signalled(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        await self.http.start()
        await self.supervisor.start()
        log.info(
            "supervisor_started",
            workers=len(self.supervisor.workers),
            http_port=self.http.port,
            sip_ports=[w.spec.sip_port for w in self.supervisor.workers],
        )
        try:
            await self._stop.wait()
        finally:
            log.info("supervisor_stopping")
            await self.supervisor.stop()
            await self.http.stop()
            log.info("supervisor_stopped")

    def _recorded(self, cdr: dict[str, Any]) -> None:
        self._failed.labels(outcome=str(cdr.get("outcome"))).inc()
        self.recent.append(cdr)

    def _exited(self, worker: WorkerProcess, _reason: str) -> None:
        self.merger.retire(worker.spec.index)
        if not worker.stopping:
            self._restarts.inc()

    # ---------------------------------------------------------------------------------- HTTP

    async def _ask(self, worker: WorkerProcess, path: str) -> tuple[int, bytes] | None:
        if not worker.running:
            return None
        url = f"http://127.0.0.1:{worker.spec.http_port}{path}"
        try:
            answer = await request("GET", url, timeout_s=_ASK_TIMEOUT_S, max_body=8 << 20)
        except HttpClientError:
            return None
        return answer.status, answer.body

    async def _ask_all(self, path: str) -> list[tuple[WorkerProcess, tuple[int, bytes] | None]]:
        workers = self.supervisor.workers
        answers = await asyncio.gather(*(self._ask(w, path) for w in workers))
        return list(zip(workers, answers, strict=True))

    async def _healthz(self, _request: Request) -> Response:
        return Response.text(200, "ok\n")

    async def _readyz(self, _request: Request) -> Response:
        states = []
        for worker, answer in await self._ask_all("/readyz"):
            state: dict[str, Any] = {}
            if answer is not None:
                try:
                    state = dict(json.loads(answer[1]))
                except ValueError:
                    state = {}
            states.append(
                {
                    "index": worker.spec.index,
                    "pid": worker.pid,
                    "sip_port": worker.spec.sip_port,
                    "http_port": worker.spec.http_port,
                    "ready": bool(state.get("ready")),
                    "active_calls": state.get("active_calls"),
                    "restarts": worker.restarts,
                }
            )
        stopping = self.supervisor.stopping
        ready = not stopping and any(s["ready"] for s in states)
        body = {"ready": ready, "draining": stopping, "workers": states}
        return Response(200 if ready else 503, json.dumps(body).encode(), "application/json")

    async def _calls(self, req: Request) -> Response:
        path = f"/calls?{req.query}" if req.query else "/calls"
        merged: list[dict[str, Any]] = []
        for _worker, answer in await self._ask_all(path):
            if answer is not None and answer[0] == 200:
                try:
                    merged.extend(json.loads(answer[1]))
                except ValueError:
                    continue
        own = json.loads(calls_response(self.recent, req.query).body)
        return Response(200, json.dumps(merged + own).encode(), "application/json")

    async def _metrics(self, _request: Request) -> Response:
        asked = {w.spec.index: w.pid for w in self.supervisor.workers}
        for worker, answer in await self._ask_all("/metrics"):
            # an answer from a process that has exited meanwhile was already retired
            if answer is not None and answer[0] == 200 and worker.pid == asked[worker.spec.index]:
                self.merger.update(worker.spec.index, answer[1].decode("utf-8", "replace"))
        return Response(200, self.merger.render(), CONTENT_TYPE)
