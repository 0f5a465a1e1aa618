"""One phone call, start to record: answer, bridge to the agent graph, end, write the CDR.

A :class:`CallHandler` runs per call, in one task group: the Realtime session, the uplink
pump, the consumers of session and phone events, and the call's timers (no input, maximum
duration, first-audio watch). Whatever happens — rejected, cancelled, model down, caller gone,
a bug — the ``finally`` writes the CDR and the transcript.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog

from gateway.app.agents import AgentGraph
from gateway.app.call_events import note_media_counters, note_session_event, note_transfer
from gateway.app.media_bridge import PlayoutFeeder, UplinkTicker, pump_uplink
from gateway.app.phone import LegEvent, PhoneLeg
from gateway.app.prompts import PromptName, prompt_pcm, queue_prompt
from gateway.core.agents.agent import CallContext
from gateway.core.agents.routing import sip_user
from gateway.core.call import CallEvent, CallRecord, CallStateMachine
from gateway.core.call_clock import CallClock, ClockAction
from gateway.core.dead_air import DeadAirWatch
from gateway.observability.cdr import CdrWriter
from gateway.observability.logging import bind_call
from gateway.runtime import events as ev
from gateway.runtime.ports import Connector
from gateway.runtime.session import RealtimeSession

__all__ = ["CallHandler", "CallServices"]

log = structlog.get_logger()


@dataclass(frozen=True)
class CallServices:
    """What every call of a gateway process shares."""

    graph: AgentGraph
    connector: Callable[[str], Connector]
    """A Realtime connector per call (new session; the argument is our call id)."""
    cdr: CdrWriter
    setup_timeout_s: float = 8.0
    retry_after_s: int = 30
    uplink: UplinkTicker | None = None
    """The process's shared uplink ticker (None: each call runs its own 20 ms pump)."""
    min_ring_s: float = 0.0
    """Let the phone ring at least this long before answering (0: answer when ready)."""
    extra: dict[str, Any] = field(default_factory=dict)


class CallHandler:
    """Runs one inbound call on ``leg`` until it ends; :meth:`run` returns the CDR."""

    def __init__(self, leg: PhoneLeg, services: CallServices) -> None:
        self.leg = leg
        self.services = services
        graph = services.graph
        self.record = CallRecord(
            call_id=leg.call_id,
            transport="sip",
            caller=sip_user(leg.caller),
            dialed=sip_user(leg.dialed),
            sip_call_id=leg.sip_call_id,
        )
        self.machine = CallStateMachine()
        self._phone = graph.spec.phone
        self._codec = graph.spec.session.audio_format
        self._ended = asyncio.Event()
        self._ready = asyncio.Event()
        self._failed = asyncio.Event()
        self._caller_gone = asyncio.Event()
        self._ending = False
        self._agent_busy_since = time.monotonic()
        self._caller_speaking = False
        self._clock = CallClock(self._phone, time.monotonic())
        self.feeder = PlayoutFeeder(leg.playout, self._codec, guarded=self._phone.guarded_playout)
        leg.playout.set_max_hold_ms(self._phone.guarded_max_hold_ms)
        agent = graph.entry_agent(leg.dialed, leg.caller)
        self.record.agent(agent.name)
        ctx = CallContext(
            call_id=leg.call_id,
            caller=self.record.caller,
            dialed=self.record.dialed,
            transport="sip",
            now=datetime.now(UTC),
        )
        self.session = RealtimeSession(
            agent,
            ctx,
            services.connector(leg.call_id),
            graph.session_settings(call_id=leg.call_id),
            playout=self.feeder,
        )
        self._tasks: list[asyncio.Task[None]] = []
        self.dead_air = DeadAirWatch(
            filler_after_s=self._phone.filler_after_s,
            filler_every_s=self._phone.filler_after_s + 1.0,
            nudge_after_s=self._phone.filler_after_s * 3,
        )
        self._agent_audio_seen: float | None = None

    # ------------------------------------------------------------------------------- lifecycle

    async def run(self) -> dict[str, Any]:
        with bind_call(self.leg.call_id, agent=self.record.agents[0], transport="sip"):
            self.record.mark("invite", time.monotonic())
            log.info("call_received", caller=self.record.caller, dialed=self.record.dialed)
            try:
                await self._run()
            except Exception as exc:  # every call leaves a record, even one that hit a bug
                log.exception("call_failed", error=str(exc))
                self.record.errors.append(f"{type(exc).__name__}: {exc}")
                self.record.outcome = self.record.outcome or "failed"
                with contextlib.suppress(Exception):
                    await self.leg.hangup()
            finally:
                self.record.mark("end", time.monotonic())
                cdr = self._write_cdr()
            log.info("call_ended", outcome=self.record.outcome)
            return cdr

    async def _run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            name = f"call:{self.leg.call_id}"
            tg.create_task(self.session.run(), name=f"{name}:realtime")
            self._spawn(tg, self._consume_session(), f"{name}:session-events")
            self._spawn(tg, self._consume_leg(), f"{name}:phone-events")
            try:
                if await self._setup():
                    self._spawn(tg, self._pump(), f"{name}:uplink")
                    self._spawn(tg, self._watch(), f"{name}:timers")
                    await self._ended.wait()
            finally:
                await self.session.close()
                for task in self._tasks:
                    task.cancel()

    def _spawn(self, tg: asyncio.TaskGroup, coro: Any, name: str) -> None:
        self._tasks.append(tg.create_task(coro, name=name))

    async def _setup(self) -> bool:
        """180, then 200 once the model is ready; 503 + Retry-After if it is not."""
        await self.leg.ringing()
        self.record.sip_codes.append(180)
        await self._ring()
        if self._ending:  # ended from outside (drain) while it rang; the outcome is set
            return False
        if self._caller_gone.is_set() or (self._ready.is_set() and not await self._answer()):
            return self._cancelled()
        if not self._ready.is_set():
            await self._model_unavailable()
            return False
        if self._caller_gone.is_set():
            # The caller hung up while our 200 was on its way (BYE right after the ACK): that
            # event came before the 200 was recorded, so _consume_leg could not end the call.
            await self._end("caller_hangup", hangup=False)
            return False
        return True

    async def _ring(self) -> None:
        """Until the model is ready or failed, the caller gone or the call ended (or the setup
        timeout), ringing at least ``min_ring_s``."""
        if self.services.min_ring_s > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._caller_gone.wait(), self.services.min_ring_s)
        waits = [self._ready, self._failed, self._caller_gone, self._ended]
        tasks = [asyncio.ensure_future(w.wait()) for w in waits]
        try:
            await asyncio.wait(
                tasks, timeout=self.services.setup_timeout_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for task in tasks:
                task.cancel()

    async def _model_unavailable(self) -> None:
        if self._phone.model_unavailable == "reject":
            await self.leg.reject(503, retry_after=self.services.retry_after_s)
            self.record.sip_codes.append(503)
            self.machine.apply(CallEvent.SESSION_FAILED)
            self.record.outcome = "model_unavailable"
        elif await self._answer():
            await self._fallback("model_unavailable")
        else:
            self._cancelled()

    def _cancelled(self) -> bool:
        self.machine.apply(CallEvent.CALLER_CANCELLED)
        self.record.outcome = "cancelled"
        return False

    async def _answer(self) -> bool:
        """200 OK; False if the caller had cancelled before it could be sent."""
        if not await self.leg.answer():
            log.info("call_cancelled_before_answer")
            return False
        self.record.sip_codes.append(200)
        self.record.mark("answer", time.monotonic())
        self.machine.apply(CallEvent.SESSION_READY)
        log.info("call_answered")
        return True

    async def _fallback(self, outcome: str) -> None:
        """The model cannot serve this caller: apologise, then transfer or hang up."""
        log.warning("call_fallback", outcome=outcome)
        self.feeder.flush()
        await self.session.close()
        target = self._phone.fallback_transfer
        uri = self._phone.transfer_targets.get(target) if target else None
        await self._play_prompt("fallback_transfer" if uri else "fallback")
        if uri is None or target is None or self._caller_gone.is_set():
            await self._end(outcome, hangup=not self._caller_gone.is_set())
            return
        transfer = await self.leg.transfer(uri)
        note_transfer(self.record, target, uri, transfer)
        await self._end(outcome, hangup=True)

    async def _play_prompt(self, name: PromptName, *, wait: bool = True) -> None:
        """Play a bundled (or configured) prompt straight into the caller's ear."""
        ring = self.leg.playout
        queue_prompt(ring, name, prompt_pcm(self._phone.prompts.get(name, name)))
        self.record.count(f"prompt_{name}")
        while wait and ring.queued_ms > 0 and not self._caller_gone.is_set():  # noqa: ASYNC110  (the clock thread drains the ring)
            await asyncio.sleep(0.05)

    async def _end(self, outcome: str, *, hangup: bool, refuse: bool = False) -> None:
        """Finish the call once (first reason wins); ``refuse``: a call still ringing gets
        503 + Retry-After (as from a full or draining gateway: the carrier may retry
        elsewhere), or is hung up if it was answered meanwhile."""
        if self._ending:
            return
        self._ending = True
        self.record.outcome = outcome
        if self.machine.can(CallEvent.ENDING):
            self.machine.apply(CallEvent.ENDING)
        if refuse and await self._refuse():
            hangup = False
        if hangup:
            with contextlib.suppress(Exception):
                await self.leg.hangup()
        self._ended.set()

    async def _refuse(self) -> bool:
        self.record.sip_codes.append(503)  # now: the record may be written while it goes out
        with contextlib.suppress(Exception):
            if await self.leg.reject(503, retry_after=self.services.retry_after_s):
                return True
        self.record.sip_codes.pop()
        return False

    # ---------------------------------------------------------------------------------- events

    async def _consume_session(self) -> None:
        ready = asyncio.ensure_future(self.session.wait_ready())
        ready.add_done_callback(lambda f: None if f.cancelled() else self._ready.set())
        try:
            async for event in self.session.events():
                await self._on_session_event(event)
        finally:
            ready.cancel()

    async def _on_session_event(self, event: ev.SessionEvent) -> None:
        note_session_event(self.record, event)
        if isinstance(event, ev.EndCallRequested):
            await self._end("completed", hangup=True)
        elif isinstance(event, ev.TransferRequested):
            self._spawn_transfer(event)
        elif isinstance(event, ev.SessionFailed):
            self._failed.set()
            if self._ready.is_set() and not self._ending:
                self._spawn_task(self._fallback("model_failed"))
        elif isinstance(event, ev.CallerSpeech):
            self._caller_speaking = event.active
            now = time.monotonic()
            self._clock.activity(now)
            if not event.active:
                self.dead_air.caller_done(now)
        elif isinstance(event, ev.ToolStarted):
            self.dead_air.tool_started(time.monotonic())

    def _spawn_transfer(self, event: ev.TransferRequested) -> None:
        self._spawn_task(self._transfer(event))

    def _spawn_task(self, coro: Any) -> None:
        self._tasks.append(asyncio.ensure_future(coro))

    async def _transfer(self, event: ev.TransferRequested) -> None:
        log.info("transfer_started", target=event.target)
        outcome = await self.leg.transfer(event.uri)
        note_transfer(self.record, event.target, event.uri, outcome)
        log.info("transfer_finished", ok=outcome.ok, status=outcome.status)
        await self.session.transfer_result(event.call_id, outcome.ok, outcome.detail)
        if outcome.ok:
            await self._end("transferred", hangup=True)

    async def _consume_leg(self) -> None:
        while True:
            event: LegEvent = await self.leg.events.get()
            if event.kind == "media_active" and self.machine.can(CallEvent.MEDIA_ACTIVE):
                self.machine.apply(CallEvent.MEDIA_ACTIVE)
            elif event.kind == "dtmf":
                await self.session.send_dtmf(event.value)
            elif event.kind in ("hangup", "cancelled"):
                if event.kind == "cancelled" and event.value.startswith("487 "):
                    # the caller's CANCEL: pjsua answered the INVITE 487 itself; record it
                    self.record.sip_codes.append(487)
                self._caller_gone.set()
                if self._ready.is_set() and self.record.sip_codes[-1:] == [200]:
                    await self._end(self.record.outcome or "caller_hangup", hangup=False)
                    if self.machine.can(CallEvent.CALLER_HANGUP):
                        self.machine.apply(CallEvent.CALLER_HANGUP)
                return

    # ---------------------------------------------------------------------------------- media

    async def _pump(self) -> None:
        ticker = self.services.uplink
        if ticker is None:
            await pump_uplink(self.leg.uplink, self._codec, self.session.send_audio)
            return
        handle = ticker.add(self.leg.uplink, self._codec, self.session.send_audio)
        try:
            await asyncio.Event().wait()  # until the call's task group cancels us
        finally:
            ticker.remove(handle)

    async def _watch(self) -> None:
        """First agent audio, no-input reprompt and hang-up, maximum duration."""
        phone = self._phone
        self._clock.answered(time.monotonic())
        while not self._ending:
            period = 0.02 if "first_agent_audio" not in self.record.times else 0.1
            # wake on a grid shared by every call of the process: one wakeup serves them all
            await asyncio.sleep(period - asyncio.get_running_loop().time() % period)
            now = time.monotonic()
            if self.leg.playout.counters().played and "first_agent_audio" not in self.record.times:
                self.record.mark("first_agent_audio", now)
            action = self._clock.duration(now)
            if action is ClockAction.END_MAX_DURATION:
                await self._say_and_end(phone.no_input.goodbye, "max_duration")
                return
            if action is ClockAction.WARN_DURATION:
                await self.session.say(phone.duration_warning)
            await self._mind_dead_air(now)
            active = self._agent_busy() or self._caller_speaking or self.dead_air.waiting
            action = self._clock.silence(now, active=active)
            if action is ClockAction.END_NO_INPUT:
                await self._say_and_end(phone.no_input.goodbye, "no_input")
                return
            if action is ClockAction.REPROMPT:
                await self.session.say(phone.no_input.reprompt)

    async def _mind_dead_air(self, now: float) -> None:
        pushed = self.feeder.last_push_at
        if pushed is not None and pushed != self._agent_audio_seen:
            self._agent_audio_seen = pushed
            self.dead_air.agent_audio()
        action = self.dead_air.tick(now, line_quiet=self.leg.playout.queued_ms == 0)
        if action == "filler":
            await self._play_prompt("filler", wait=False)
        elif action == "nudge":
            log.info("model_nudged", waited_s=round(now - (self.dead_air.waiting_since or now), 1))
            await self.session.request_response()
        elif action == "fallback":
            await self._fallback("model_silent")

    def _agent_busy(self) -> bool:
        from gateway.core.realtime.protocol import ResponseState  # noqa: PLC0415

        busy = self.session.protocol.state is not ResponseState.IDLE
        return busy or self.feeder.pending_ms() > 0

    async def end_politely(
        self, text: str = "I'm sorry, we have to end the call now. Goodbye."
    ) -> None:
        """End a live call from outside (gateway shutdown): say ``text``, then hang up."""
        if self._ending:
            return
        answered = 200 in self.record.sip_codes
        if answered and self._ready.is_set():
            await self._say_and_end(text, "ended_by_gateway")
        else:  # playing a fallback prompt, or still ringing (then refused, to be retried)
            await self._end("ended_by_gateway", hangup=True, refuse=not answered)

    async def _say_and_end(self, text: str, outcome: str) -> None:
        await self.session.say(text)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.session.wait_playout_done(), 15)
        await self._end(outcome, hangup=True)

    # --------------------------------------------------------------------------------- records

    def _write_cdr(self) -> dict[str, Any]:
        record = self.record
        if not record.outcome:
            record.outcome = "ended"
        record.usage = dict(self.session.usage)
        note_media_counters(record, self.leg.playout, self.leg.uplink)
        offset = time.time() - time.monotonic()
        return self.services.cdr.write(
            record, self.session.history.transcript(), clock_offset=offset
        )


def new_call_id() -> str:
    return f"call_{uuid.uuid4().hex[:16]}"
