"""The OpenAI SIP transport's process: webhook in, one :class:`OpenAISipCall` per call, CDRs.

The carrier sends calls to OpenAI's SIP endpoint; OpenAI POSTs a signed
``realtime.call.incoming`` to ``POST /openai/webhook``. The gateway verifies it
(:mod:`gateway.adapters.webhook`), answers at once, and runs the call in the background:

* a ``call_id`` already seen (a duplicate delivery) is acknowledged and not run again;
* over ``max_calls`` live calls, or while draining, the call is rejected with 486 Busy Here
  (and leaves a CDR);
* otherwise :class:`~gateway.app.openai_sip_call.OpenAISipCall` routes, accepts and runs it.

The webhook endpoint refuses bodies over ``max_body`` (413) and floods (429 + Retry-After, per
source address and overall, before any signature is checked: ``webhook_rate`` & co).

Also ``GET /healthz``, ``/readyz`` and ``/calls`` (recent CDRs with transcripts, ``?sip_call_id=``
filters), as ``voicegw serve`` has. SIGTERM/SIGINT drain: new calls are refused with 486, live
ones may finish until the deadline, then they are ended politely.
"""

from __future__ import annotations

import json
import re
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from gateway.adapters.http_server import HttpServer, Request, Response
from gateway.adapters.openai_calls import DEFAULT_API_BASE, CallControl, CallControlError
from gateway.adapters.realtime_ws import DEFAULT_BASE_URL, RealtimeEndpoint
from gateway.adapters.sideband import Opener
from gateway.adapters.webhook import IncomingCall, WebhookReceiver, WebhookSecret, WebhookVerifier
from gateway.app.agents import AgentGraph, build_agent_graph
from gateway.app.config import load_graph_file
from gateway.app.lifecycle import CallService
from gateway.app.openai_sip_call import TRANSPORT, OpenAISipCall, OpenAISipServices
from gateway.app.recent_calls import calls_response
from gateway.core.agents.routing import sip_user
from gateway.core.call import CallRecord
from gateway.core.rate_limit import RateLimit, RateLimiter
from gateway.observability.cdr import CdrWriter
from gateway.observability.logging import bind_call

__all__ = ["WEBHOOK_PATH", "OpenAISipGateway", "OpenAISipSettings"]

log = structlog.get_logger()

WEBHOOK_PATH = "/openai/webhook"
_RECENT = 200
_SEEN_CALLS = 10_000


@dataclass(frozen=True)
class OpenAISipSettings:
    config: Path
    webhook_secret: WebhookSecret
    realtime_url: str = DEFAULT_BASE_URL
    api_base: str = DEFAULT_API_BASE
    api_key: str | None = None
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    cdr_dir: Path = Path("var/cdr")
    max_calls: int = 20
    busy_status: int = 486
    allow_callers: tuple[str, ...] = ()
    """Caller (From user) patterns allowed to call; empty: everyone. Others get ``deny_status``."""
    deny_status: int = 603
    drain_timeout_s: float = 30.0
    transfer_wait_s: float = 30.0
    max_body: int = 64 * 1024
    webhook_rate: float = 20.0
    """Webhook requests a second allowed from one source address (0: no rate limit at all)."""
    webhook_burst: int = 40
    webhook_total_rate: float = 100.0
    """Webhook requests a second allowed from all sources together."""
    webhook_total_burst: int = 200
    opener: Opener | None = field(default=None, compare=False)
    """Tests only: how to open sideband sockets."""


def _limiter(settings: OpenAISipSettings) -> RateLimiter | None:
    if settings.webhook_rate <= 0:
        return None
    return RateLimiter(
        RateLimit(settings.webhook_rate, settings.webhook_burst),
        RateLimit(settings.webhook_total_rate, settings.webhook_total_burst),
    )


class OpenAISipGateway(CallService):
    """One OpenAI SIP gateway process (no SIP stack of its own: OpenAI answers the phone)."""

    def __init__(self, settings: OpenAISipSettings, graph: AgentGraph | None = None) -> None:
        super().__init__(settings.drain_timeout_s)
        self.settings = settings
        self.graph = graph or build_agent_graph(load_graph_file(settings.config).spec)
        self.cdr = CdrWriter(settings.cdr_dir)
        self.control = CallControl(settings.api_base, settings.api_key)
        self._allow = [re.compile(p) for p in settings.allow_callers]
        self.services = OpenAISipServices(
            graph=self.graph,
            control=self.control,
            cdr=self.cdr,
            sideband=self._endpoint,
            opener=settings.opener,
            refuse=self._refusal,
            transfer_wait_s=settings.transfer_wait_s,
        )
        verifier = WebhookVerifier(settings.webhook_secret)
        self.webhook = WebhookReceiver(verifier, self._on_incoming, limiter=_limiter(settings))
        self.http = HttpServer(
            {
                ("POST", WEBHOOK_PATH): self.webhook,
                ("GET", "/healthz"): self._healthz,
                ("GET", "/readyz"): self._readyz,
                ("GET", "/calls"): self._calls,
            },
            settings.http_host,
            settings.http_port,
            max_body=settings.max_body,
        )
        self.active: dict[str, OpenAISipCall] = {}
        self.recent: deque[dict[str, Any]] = deque(maxlen=_RECENT)
        self.seen: OrderedDict[str, float] = OrderedDict()
        """Call ids handled, for deduplicating webhook deliveries."""

    def _endpoint(self, call_id: str) -> RealtimeEndpoint:
        return RealtimeEndpoint(
            base_url=self.settings.realtime_url, call_id=call_id, api_key=self.settings.api_key
        )

    def _refusal(self, caller: str, _dialed: str) -> int | None:
        if not self._allow or any(p.fullmatch(sip_user(caller)) for p in self._allow):
            return None
        return self.settings.deny_status

    # ------------------------------------------------------------------------------- running

    @property
    def port(self) -> int:
        return self.http.port

    async def start(self) -> None:
        await self.http.start()
        self.started = True
        log.info(
            "gateway_started",
            transport=TRANSPORT,
            http_port=self.http.port,
            webhook=WEBHOOK_PATH,
            graph=self.graph.spec.name,
            max_calls=self.settings.max_calls,
        )

    def live_calls(self) -> list[OpenAISipCall]:
        return list(self.active.values())

    def _draining(self) -> None:
        """Nothing to close: ``draining`` alone turns webhooks into 486 Busy Here."""

    async def _close(self) -> None:
        await self.http.stop()

    # --------------------------------------------------------------------------------- calls

    def _on_incoming(self, incoming: IncomingCall) -> str:
        """A verified ``realtime.call.incoming``: run it once, or refuse it when full."""
        call_id = incoming.call_id
        if call_id in self.seen:
            log.info("webhook_duplicate", call_id=call_id, webhook_id=incoming.webhook_id)
            return "duplicate"
        self.seen[call_id] = time.time()
        while len(self.seen) > _SEEN_CALLS:
            self.seen.popitem(last=False)
        if self.draining or len(self.active) >= self.settings.max_calls:
            self._spawn(self._refuse(incoming, "draining" if self.draining else "capacity"))
            return "busy"
        call = OpenAISipCall(incoming, self.services)
        self.active[call_id] = call
        self._spawn(self._run(call))
        return "accepted"

    async def _run(self, call: OpenAISipCall) -> None:
        try:
            self.recent.append(await call.run())
        finally:
            self.active.pop(call.call_id, None)

    async def _refuse(self, incoming: IncomingCall, why: str) -> None:
        status = self.settings.busy_status
        record = CallRecord(
            call_id=incoming.call_id,
            transport=TRANSPORT,
            caller=sip_user(incoming.caller),
            dialed=sip_user(incoming.dialed),
            sip_call_id=incoming.header("Call-ID"),
            outcome=f"refused_{why}",
        )
        with bind_call(incoming.call_id, transport=TRANSPORT):
            log.info("call_refused", reason=why, status=status)
            try:
                await self.control.reject(incoming.call_id, status)
                record.sip_codes.append(status)
            except CallControlError as exc:
                record.errors.append(str(exc))
        self.recent.append(self.cdr.write_refused(record))

    # ---------------------------------------------------------------------------------- HTTP

    async def _healthz(self, _request: Request) -> Response:
        return Response.text(200, "ok\n")

    async def _readyz(self, _request: Request) -> Response:
        ready = self.started and not self.draining
        state = {
            "ready": ready,
            "transport": TRANSPORT,
            "draining": self.draining,
            "active_calls": len(self.active),
            "max_calls": self.settings.max_calls,
        }
        return Response(200 if ready else 503, json.dumps(state).encode(), "application/json")

    async def _calls(self, request: Request) -> Response:
        """Recent finished calls (CDRs with their transcripts); ``?sip_call_id=`` filters."""
        return calls_response(self.recent, request.query)
