"""The gateway process: SIP stack + agent graph + Realtime connections + HTTP health + CDRs.

:class:`Gateway` admits calls (503 + Retry-After when full or draining), runs one
:class:`CallHandler` per call, answers ``/healthz``, ``/readyz`` and ``/calls``, and drains on
SIGTERM/SIGINT: no new calls, live calls may finish until a deadline, then they are ended
politely. Every call, refused ones included, leaves a CDR.
"""

from __future__ import annotations

import json
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from gateway.adapters.http_server import HttpServer, Request, Response
from gateway.adapters.realtime_ws import RealtimeEndpoint, connector
from gateway.adapters.sip.endpoint import RejectedCall
from gateway.adapters.sip.leg import SipLeg
from gateway.adapters.sip.pjsip_hooks import RateLimitedLog
from gateway.adapters.sip.stack import SipSettings, SipStack
from gateway.app.agents import AgentGraph, build_agent_graph
from gateway.app.call import CallHandler, CallServices
from gateway.app.config import load_graph_file
from gateway.app.lifecycle import CallService
from gateway.app.media_bridge import UplinkTicker
from gateway.app.recent_calls import calls_response
from gateway.app.worker_calls import CallJournal
from gateway.core.agents.routing import sip_user
from gateway.core.call import CallRecord
from gateway.observability.cdr import CdrWriter
from gateway.observability.metrics import CONTENT_TYPE, GatewayMetrics
from gateway.runtime.ports import Connector

__all__ = ["Gateway", "GatewaySettings"]

log = structlog.get_logger()

_RECENT = 200


@dataclass(frozen=True)
class GatewaySettings:
    config: Path
    sip: SipSettings = field(default_factory=SipSettings)
    realtime_url: str = "wss://api.openai.com/v1/realtime"
    api_key: str | None = None
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    cdr_dir: Path = Path("var/cdr")
    max_calls: int = 3
    """Concurrent calls; the PyPI pjsua2 build has 4 slots and one is kept to answer 503."""
    retry_after_s: int = 30
    drain_timeout_s: float = 30.0
    setup_timeout_s: float = 8.0
    min_ring_s: float = 0.0
    attended_transfer: bool = False


class Gateway(CallService):
    """One gateway process (one pjsua2 endpoint)."""

    def __init__(self, settings: GatewaySettings) -> None:
        super().__init__(settings.drain_timeout_s)
        self.settings = settings
        self.graph: AgentGraph = build_agent_graph(load_graph_file(settings.config).spec)
        self.metrics = GatewayMetrics(active_calls=lambda: len(self.active))
        self.journal = CallJournal.from_env()  # live calls, for a supervisor (none: no-op)
        self.cdr = CdrWriter(settings.cdr_dir, on_write=self.metrics.call_finished)
        self.uplink = UplinkTicker()
        self.services = CallServices(
            graph=self.graph,
            connector=self._connector,
            cdr=self.cdr,
            setup_timeout_s=settings.setup_timeout_s,
            retry_after_s=settings.retry_after_s,
            min_ring_s=settings.min_ring_s,
            uplink=self.uplink,
        )
        self.sip = SipStack(settings.sip, self._on_call, on_refused=self._on_stack_refused)
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
        self.active: dict[str, CallHandler] = {}
        self.recent: deque[dict[str, Any]] = deque(maxlen=_RECENT)
        self._stack_refused = 0
        self._gate_log = RateLimitedLog()

    def _connector(self, call_id: str) -> Connector:
        endpoint = RealtimeEndpoint(
            base_url=self.settings.realtime_url,
            model=self.graph.spec.session.model,
            api_key=self.settings.api_key,
        )
        return connector(endpoint)

    # ------------------------------------------------------------------------------- running

    async def start(self) -> None:
        """Bind HTTP, then start SIP; if either fails nothing is left listening."""
        await self.http.start()
        try:
            await self.sip.start()
        except BaseException:
            await self.http.stop()
            raise
        self.started = True
        self.metrics.lag_monitor.start()
        log.info(
            "gateway_started",
            sip_port=self.sip.sip_port,
            http_port=self.http.port,
            graph=self.graph.spec.name,
            max_calls=self.settings.max_calls,
        )

    def live_calls(self) -> list[CallHandler]:
        return list(self.active.values())

    def _draining(self) -> None:
        self._update_gate()

    async def _close(self) -> None:
        await self.uplink.stop()
        await self.metrics.lag_monitor.stop()
        await self.http.stop()
        await self.sip.stop()

    # --------------------------------------------------------------------------------- calls

    def _on_call(self, leg: SipLeg) -> None:
        leg.attended_transfer = self.settings.attended_transfer
        if self.draining or len(self.active) >= self.settings.max_calls:
            self._spawn(self._refuse(leg, "draining" if self.draining else "capacity"))
            return
        handler = CallHandler(leg, self.services)
        self.active[leg.call_id] = handler
        self.journal.started(handler.record)
        self._update_gate()
        self._spawn(self._run(handler))

    async def _run(self, handler: CallHandler) -> None:
        try:
            cdr = await handler.run()
            self.recent.append(cdr)
        finally:
            self.journal.ended(handler.leg.call_id)
            self.active.pop(handler.leg.call_id, None)
            self._update_gate()

    async def _refuse(self, leg: SipLeg, why: str) -> None:
        retry = self.settings.retry_after_s
        log.info("call_refused", reason=why, status=503, retry_after=retry)
        try:
            await leg.reject(503, retry_after=retry)
        finally:  # recorded even if the SIP stack could not send it (stopping)
            self._record_refusal(leg.call_id, leg.caller, leg.dialed, leg.sip_call_id, why, 503)

    def _update_gate(self) -> None:
        """Open or close the SIP-layer admission gate: while full or draining, new INVITEs get
        503 + Retry-After from pjsip itself, before pjsua opens a call and its RTP sockets."""
        full = len(self.active) >= self.settings.max_calls
        why = "draining" if self.draining else "capacity" if full else None
        self.sip.hooks.admission = None if why is None else (self.settings.retry_after_s, why)

    def _on_stack_refused(self, refused: RejectedCall) -> None:
        """An INVITE refused before it became a call: by the admission gate (503, full or
        draining), by the access policy (403: source_not_allowed, auth_failed) or by pjsua
        (486 with every slot taken, 488 / 400 for the offer)."""
        self._stack_refused += 1
        call_id = f"sip-refused-{self._stack_refused}-{refused.sip_call_id[:24]}"
        why = refused.reason if refused.gated or refused.policy else "sip_stack"
        fields = {"reason": why, "status": 503, "retry_after": self.settings.retry_after_s}
        if refused.gated and (line := self._gate_log.note(why, fields, time.monotonic())):
            log.info("call_refused", **line, at="sip_layer")  # rate-limited: floods land here
        caller, dialed = refused.from_uri, refused.request_uri
        self._record_refusal(call_id, caller, dialed, refused.sip_call_id, why, refused.status)

    def _record_refusal(  # noqa: PLR0917  (one CDR's fields, all positional strings)
        self, call_id: str, caller: str, dialed: str, sip_call_id: str, why: str, status: int
    ) -> None:
        """The CDR (and empty transcript) of a call refused before it was answered."""
        record = CallRecord(
            call_id=call_id,
            transport="sip",
            caller=sip_user(caller),
            dialed=sip_user(dialed),
            sip_call_id=sip_call_id,
            outcome=f"refused_{why}",
            sip_codes=[status],
        )
        self.recent.append(self.cdr.write_refused(record))

    # ---------------------------------------------------------------------------------- HTTP

    async def _healthz(self, _request: Request) -> Response:
        return Response.text(200, "ok\n")

    async def _readyz(self, _request: Request) -> Response:
        state = {
            "started": self.started,
            "registered": self.sip.registered,
            "draining": self.draining,
            "active_calls": len(self.active),
            "max_calls": self.settings.max_calls,
            "security": self.sip.security,
        }
        ready = self.started and self.sip.registered and not self.draining
        body = json.dumps({"ready": ready, **state}).encode()
        return Response(200 if ready else 503, body, "application/json")

    async def _metrics(self, _request: Request) -> Response:
        return Response(200, self.metrics.render(), CONTENT_TYPE)

    async def _calls(self, request: Request) -> Response:
        """Recent finished calls (CDRs with their transcripts); ``?sip_call_id=`` filters."""
        return calls_response(self.recent, request.query)
