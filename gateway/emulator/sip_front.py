"""The emulated OpenAI SIP endpoint: INVITEs in, signed webhooks out, calls held until accepted.

What OpenAI does for ``sip:proj_...@sip.api.openai.com`` (protocol brief §5), offline:

1. An INVITE for the project (``sip:<project_id>@host``; any other user gets 404) rings (180)
   and gets a call id ``rtc_...``; a ``realtime.call.incoming`` webhook is fired with the
   INVITE's From, To and Call-ID headers (:mod:`gateway.emulator.webhooks`).
2. The call rings until a REST ``accept`` or ``reject`` (or ``ring_timeout_s``: 480, UNVERIFIED).
3. ``accept`` answers 200 and starts the call's session with the accepted configuration; the
   service then carries the audio itself (:class:`~gateway.emulator.call_media.CallDriver`),
   and ``wss://.../v1/realtime?call_id=`` attaches a sideband to it.
4. ``refer`` sends a REFER to the caller; once the transfer target answered (NOTIFY 200) the
   service hangs its own leg up. ``hangup`` sends BYE. A caller's BYE or CANCEL ends it too.

The SIP side is the gateway's own pjsua2 stack (:class:`~gateway.adapters.sip.stack.SipStack`,
one endpoint in the emulator process); tests can hand in any :class:`PhoneLeg` instead.
REST answers follow :mod:`gateway.emulator.sip_calls`.
"""

from __future__ import annotations

import asyncio
import copy
import secrets
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gateway.adapters.http_server import HttpServer
from gateway.app.phone import PhoneLeg, TransferOutcome
from gateway.core.agents.routing import sip_user
from gateway.emulator.call_media import CallDriver
from gateway.emulator.client_events import SESSION
from gateway.emulator.schema import ClientEventError, check
from gateway.emulator.sip_calls import ApiError, CallOp, CallState, check_op
from gateway.emulator.webhooks import WebhookSender, WebhookSettings, call_incoming_event
from gateway.observability.logging import get_logger

if TYPE_CHECKING:
    from gateway.adapters.sip.stack import SipSettings, SipStack
    from gateway.emulator.server import EmulatorServer

__all__ = ["EmulatedCall", "FrontSettings", "SipFront"]

G711 = {"type": "audio/pcmu"}
"""What SDP negotiates with a phone trunk; the session's format unless accept gave one."""
ACCEPT_REFUSED_TURN_FIELDS = ("threshold", "prefix_padding_ms", "silence_duration_ms")
"""Turn-detection fields SIP accept answers 400 to (openai-agents-js #741, brief §5.4)."""
KEEP_ENDED = 256


def _log() -> Any:
    return get_logger(component="emulator")


@dataclass(frozen=True, slots=True)
class FrontSettings:
    webhook: WebhookSettings
    project_id: str = "proj_emulator"
    ring_timeout_s: float = 60.0
    rest_host: str = "127.0.0.1"
    rest_port: int = 0
    sip: SipSettings | None = None
    """The SIP listener; None runs without one (tests hand legs to :meth:`SipFront.on_call`)."""


@dataclass
class EmulatedCall:
    """One call at the emulated OpenAI endpoint."""

    call_id: str
    leg: PhoneLeg
    state: CallState = CallState.RINGING
    driver: CallDriver | None = None
    ops: list[tuple[str, int]] = field(default_factory=list)
    """REST requests on this call and the status each was answered (tests read it)."""
    accepted: dict[str, Any] | None = None
    """The accept request's body, as received."""
    transfer: TransferOutcome | None = None
    ended_by: str = ""


class SipFront:
    """The SIP listener, REST calls API and webhook sender of one emulator process."""

    def __init__(self, server: EmulatorServer, settings: FrontSettings) -> None:
        from gateway.emulator.calls_api import calls_routes  # noqa: PLC0415  (cycle)

        self.server = server
        self.settings = settings
        self.calls: dict[str, EmulatedCall] = {}
        self.webhooks = WebhookSender(settings.webhook)
        self.api = HttpServer(calls_routes(self), settings.rest_host, settings.rest_port)
        self._stack: SipStack | None = None
        self._tasks: set[asyncio.Future[Any]] = set()

    # ------------------------------------------------------------------ lifecycle

    @property
    def rest_url(self) -> str:
        """``http://host:port/v1``: the base the gateway's call control uses."""
        return f"http://{self.settings.rest_host}:{self.api.port}/v1"

    @property
    def sip_port(self) -> int:
        return self._stack.sip_port if self._stack is not None else 0

    async def start(self) -> None:
        await self.api.start()
        if self.settings.sip is not None:
            from gateway.adapters.sip.stack import SipStack  # noqa: PLC0415  (loads pjsua2)

            self._stack = SipStack(self.settings.sip, self.on_call)
            await self._stack.start()
        _log().info("sip_front_started", rest=self.rest_url, sip_port=self.sip_port)

    async def stop(self) -> None:
        for call in list(self.calls.values()):
            await self._end(call, "emulator stopped", call.leg.hangup())
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._stack is not None:
            await self._stack.stop()
        await self.api.stop()

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ incoming calls

    def on_call(self, leg: PhoneLeg) -> None:
        """A new INVITE: ring it and tell the project's webhook, or 404 another project."""
        if sip_user(leg.dialed) != self.settings.project_id:
            _log().info("sip_call_refused", dialed=leg.dialed, status=404)
            self._spawn(leg.reject(404))
            return
        call = EmulatedCall(f"rtc_{secrets.token_hex(16)}", leg)
        self.calls[call.call_id] = call
        self._prune()
        _log().info("sip_call_incoming", call_id=call.call_id, sip_call_id=leg.sip_call_id)
        self._spawn(self._ring(call))
        self._spawn(self._watch_leg(call))

    async def _ring(self, call: EmulatedCall) -> None:
        await call.leg.ringing()
        info = getattr(call.leg, "info", None)
        headers = [
            ("From", call.leg.caller),
            ("To", str(getattr(info, "to_uri", "") or call.leg.dialed)),
            ("Call-ID", call.leg.sip_call_id),
        ]
        event = call_incoming_event(call.call_id, headers, created_at=int(time.time()))
        self._spawn(self.webhooks.fire(event))
        await asyncio.sleep(self.settings.ring_timeout_s)
        if call.state is CallState.RINGING:
            await self._end(call, "ring timeout", call.leg.reject(480))

    async def _watch_leg(self, call: EmulatedCall) -> None:
        while call.state is not CallState.ENDED:
            event = await call.leg.events.get()
            if event.kind == "dtmf" and call.driver is not None:
                call.driver.dtmf(event.value)
            elif event.kind in ("hangup", "cancelled"):
                await self._end(call, f"caller {event.kind}", None)

    async def _end(
        self, call: EmulatedCall, why: str, sip: Coroutine[Any, Any, Any] | None
    ) -> None:
        """Finish a call once: later REST requests get 404, a sideband is dropped."""
        if call.state is CallState.ENDED:
            if sip is not None:
                sip.close()
            return
        call.state, call.ended_by = CallState.ENDED, why
        self.server.registry.end(call.call_id)
        if call.driver is not None:
            await call.driver.stop()
        if sip is not None:
            await sip
        _log().info("sip_call_ended", call_id=call.call_id, reason=why)

    def _prune(self) -> None:
        ended = [c for c, call in self.calls.items() if call.state is CallState.ENDED]
        for call_id in ended[: max(0, len(ended) - KEEP_ENDED)]:
            del self.calls[call_id]

    # ------------------------------------------------------------------ REST operations

    def _op(self, call_id: str, op: CallOp) -> EmulatedCall | ApiError:
        """The call ``op`` may act on (its state moved, unless to ended), or the error."""
        call = self.calls.get(call_id)
        outcome = check_op(call.state if call else None, op, call_id)
        if isinstance(outcome, ApiError):
            return outcome
        assert call is not None  # check_op answers 404 for unknown calls
        if outcome is not CallState.ENDED:  # _end does that, once
            call.state = outcome
        return call

    async def accept(self, call_id: str, body: Any) -> ApiError | None:
        known = self.calls.get(call_id)
        refused = check_op(known.state if known else None, CallOp.ACCEPT, call_id)
        config = refused if isinstance(refused, ApiError) else _accepted_session(body)
        if isinstance(config, ApiError):  # an unknown call is 404 whatever the body
            return config
        call = self._op(call_id, CallOp.ACCEPT)
        if isinstance(call, ApiError):
            return call
        call.accepted = body
        session = self.server.call_session(config)
        self.server.registry.register(call_id, config)
        slot = self.server.registry.get(call_id)
        driver = CallDriver(
            session, call.leg, call_id=call_id, on_closed=lambda: self._expire(call)
        )
        call.driver = driver
        if slot is not None:
            slot.session, slot.driver = session, driver
        await call.leg.answer()
        driver.start()
        _log().info("sip_call_accepted", call_id=call_id, session_id=session.id)
        return None

    def _expire(self, call: EmulatedCall) -> None:
        self._spawn(self._end(call, "session ended", call.leg.hangup()))

    async def reject(self, call_id: str, body: Any) -> ApiError | None:
        status = (body or {}).get("status_code", 603) if isinstance(body, dict | None) else None
        if not isinstance(status, int) or not 400 <= status <= 699:
            return ApiError(400, "Invalid 'status_code': expected a SIP status 400-699.", None)
        call = self._op(call_id, CallOp.REJECT)
        if isinstance(call, ApiError):
            return call
        await self._end(call, f"rejected {status}", call.leg.reject(status))
        return None

    async def refer(self, call_id: str, body: Any) -> ApiError | None:
        target = body.get("target_uri") if isinstance(body, dict) else None
        if not isinstance(target, str) or not target.startswith(("sip:", "sips:", "tel:")):
            return ApiError(400, "Invalid 'target_uri': expected a sip: or tel: URI.", None)
        call = self._op(call_id, CallOp.REFER)
        if isinstance(call, ApiError):
            return call
        self._spawn(self._refer(call, target))
        return None

    async def _refer(self, call: EmulatedCall, target: str) -> None:
        _log().info("sip_refer_sent", call_id=call.call_id, target=target)
        outcome = await call.leg.transfer(target)
        call.transfer = outcome
        _log().info(
            "sip_refer_finished", call_id=call.call_id, ok=outcome.ok, status=outcome.status
        )
        if outcome.ok:
            await self._end(call, "transferred", call.leg.hangup())

    async def hangup(self, call_id: str, _body: Any = None) -> ApiError | None:
        call = self._op(call_id, CallOp.HANGUP)
        if isinstance(call, ApiError):
            return call
        await self._end(call, "hangup", call.leg.hangup())
        return None


def _accepted_session(body: Any) -> dict[str, Any] | ApiError:
    """The accept body as the call's initial session, or the 400 the API answers."""
    if not isinstance(body, dict):
        return ApiError(400, "Invalid body: expected a JSON object.", "invalid_value")
    turn = ((body.get("audio") or {}).get("input") or {}).get("turn_detection")
    for name in ACCEPT_REFUSED_TURN_FIELDS:
        if isinstance(turn, dict) and name in turn:
            param = f"session.audio.input.turn_detection.{name}"
            return ApiError(400, f"Unknown parameter: '{param}'.", "unknown_parameter", param)
    try:
        check(body, SESSION, "session")
    except ClientEventError as exc:
        return ApiError(400, exc.message, exc.code, exc.param)
    config = copy.deepcopy(body)
    audio = config.setdefault("audio", {})
    for direction in ("input", "output"):
        audio.setdefault(direction, {}).setdefault("format", dict(G711))
    return config
