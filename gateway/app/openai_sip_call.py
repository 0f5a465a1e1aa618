"""One call on the OpenAI SIP transport: route, accept, attach, run the agent graph, record.

OpenAI answers the phone and carries the audio; we steer over REST and the sideband
(protocol brief §5). For each ``realtime.call.incoming``:

1. Route by the INVITE's To / From headers with the graph's route table (the pjsua2
   transport's); a caller the policy refuses is rejected (603 by default).
2. ``accept`` with the entry agent's full session: formats omitted, turn detection limited to
   the fields accept takes. A 404 means the caller already hung up: a no-op.
3. Attach ``?call_id=`` (no model) and run the same :class:`RealtimeSession` in its SIP mode:
   a sparse ``session.update``, the greeting as ``response.create``, tools, handoffs,
   guardrails (``response.cancel`` + ``output_audio_buffer.clear``), DTMF to the agent.
4. ``end_call`` -> REST ``hangup`` once ``output_audio_buffer.stopped`` says the goodbye was
   heard; ``transfer_call`` -> REST ``refer``, then the service ends the call (we hang up if
   it has not within ``transfer_wait_s``). The call is over when the sideband closes and
   re-attaching finds it gone. The graph's no-input and maximum-duration timers apply
   (:class:`~gateway.app.call_timers.CallTimers`, on the server's VAD and playout events).

Whatever happens, the CDR and transcript are written, marked ``transport: "openai-sip"``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog

from gateway.adapters.openai_calls import CallControl, CallControlError, CallNotFound
from gateway.adapters.realtime_ws import RealtimeEndpoint
from gateway.adapters.sideband import Opener, SidebandConnector
from gateway.adapters.webhook import IncomingCall
from gateway.app.agents import AgentGraph
from gateway.app.call_events import note_session_event, note_transfer
from gateway.app.call_timers import CallTimers
from gateway.app.phone import TransferOutcome
from gateway.core.agents.agent import CallContext
from gateway.core.agents.routing import sip_user
from gateway.core.agents.session_config import initial_session
from gateway.core.call import CallEvent, CallRecord, CallStateMachine
from gateway.core.realtime.protocol import ResponseState
from gateway.observability.cdr import CdrWriter
from gateway.observability.logging import bind_call
from gateway.runtime import events as ev
from gateway.runtime.session import RealtimeSession

__all__ = ["TRANSPORT", "OpenAISipCall", "OpenAISipServices"]

TRANSPORT = "openai-sip"

log = structlog.get_logger()


@dataclass(frozen=True)
class OpenAISipServices:
    """What every call of an OpenAI SIP gateway shares."""

    graph: AgentGraph
    control: CallControl
    cdr: CdrWriter
    sideband: Callable[[str], RealtimeEndpoint]
    """The attach endpoint for a call id (``?call_id=``, no model)."""
    opener: Opener | None = None
    """How to open a sideband socket (tests wrap it to record); None: websockets."""
    refuse: Callable[[str, str], int | None] = lambda _caller, _dialed: None
    """The SIP status to reject a call from ``caller`` to ``dialed`` with, or None to take it."""
    transfer_wait_s: float = 30.0
    extra: dict[str, Any] = field(default_factory=dict)


class OpenAISipCall:
    """Runs one OpenAI SIP call; :meth:`run` returns its CDR."""

    def __init__(self, incoming: IncomingCall, services: OpenAISipServices) -> None:
        self.incoming = incoming
        self.services = services
        self.call_id = incoming.call_id
        self.record = CallRecord(
            call_id=incoming.call_id,
            transport=TRANSPORT,
            caller=sip_user(incoming.caller),
            dialed=sip_user(incoming.dialed),
            sip_call_id=incoming.header("Call-ID"),
        )
        self.machine = CallStateMachine()
        graph = services.graph
        self._phone = graph.spec.phone
        self.agent = graph.entry_agent(incoming.dialed, incoming.caller)
        self.record.agent(self.agent.name)
        self.context = CallContext(
            call_id=self.call_id,
            caller=self.record.caller,
            dialed=self.record.dialed,
            transport=TRANSPORT,
            now=datetime.now(UTC),
        )
        self.settings = graph.session_settings(sip_attach=True, call_id=self.call_id)
        extra = {"opener": services.opener} if services.opener is not None else {}
        self.connector = SidebandConnector(
            services.sideband(self.call_id), on_event=self._on_playout, **extra
        )
        self.session = RealtimeSession(self.agent, self.context, self.connector, self.settings)
        self.timers = CallTimers(
            self._phone, busy=self._agent_busy, say=self.session.say, say_and_end=self._say_and_end
        )
        self._ended = asyncio.Event()
        self._ending = False
        self._transferred = False
        self._tasks: list[asyncio.Task[None]] = []

    # ------------------------------------------------------------------------------ lifecycle

    async def run(self) -> dict[str, Any]:
        with bind_call(self.call_id, agent=self.agent.name, transport=TRANSPORT):
            self.record.mark("invite", time.monotonic())
            log.info("call_received", caller=self.record.caller, dialed=self.record.dialed)
            try:
                if await self._answer():
                    await self._converse()
            except Exception as exc:  # every call leaves a record, even one that hit a bug
                log.exception("call_failed", error=str(exc))
                self.record.errors.append(f"{type(exc).__name__}: {exc}")
                self.record.outcome = self.record.outcome or "failed"
                with contextlib.suppress(CallControlError):
                    await self.services.control.hangup(self.call_id)
            finally:
                self.record.mark("end", time.monotonic())
                cdr = self._write_cdr()
            log.info("call_ended", outcome=self.record.outcome)
            return cdr

    async def _answer(self) -> bool:
        """Reject or accept; True when the call was accepted and is still there."""
        status = self.services.refuse(self.incoming.caller, self.incoming.dialed)
        if status is not None:
            await self._reject(status, "rejected")
            return False
        session = initial_session(
            self.agent,
            self.settings.defaults,
            self.context,
            tracing=self.settings.tracing,
            sip_accept=True,
        )
        try:
            await self.services.control.accept(
                self.call_id, session.model_dump(mode="json", exclude_unset=True)
            )
        except CallNotFound:
            log.info("call_gone_before_accept")
            self.record.outcome = "caller_gone"
            self.machine.apply(CallEvent.CALLER_CANCELLED)
            return False
        except CallControlError as exc:
            self.record.errors.append(str(exc))
            await self._reject(503, "accept_failed")
            return False
        self.record.sip_codes.append(200)
        self.record.mark("answer", time.monotonic())
        self.machine.apply(CallEvent.SESSION_READY)
        log.info("call_accepted")
        return True

    async def _reject(self, status: int, outcome: str) -> None:
        self.record.outcome = outcome
        self.machine.apply(CallEvent.REJECTED)
        try:
            await self.services.control.reject(self.call_id, status)
        except CallNotFound:
            log.info("call_gone_before_reject")
        except CallControlError as exc:
            self.record.errors.append(str(exc))
            return
        self.record.sip_codes.append(status)
        log.info("call_rejected", status=status)

    async def _converse(self) -> None:
        name = f"call:{self.call_id}"
        async with asyncio.TaskGroup() as tg:
            realtime = tg.create_task(self.session.run(), name=f"{name}:realtime")
            self._spawn(tg, self._consume(), f"{name}:session-events")
            self._spawn(tg, self.timers.run(), f"{name}:timers")
            try:
                await self._ended.wait()
            finally:
                await self.session.close()
                for task in [realtime, *self._tasks]:
                    task.cancel()

    def _spawn(self, tg: asyncio.TaskGroup, coro: Any, name: str) -> None:
        self._tasks.append(tg.create_task(coro, name=name))

    async def _end(self, outcome: str, *, hangup: bool) -> None:
        """Finish the call once (the first reason wins); ``hangup`` asks OpenAI to hang up."""
        if self._ending:
            return
        self._ending = True
        self.record.outcome = outcome
        if self.machine.can(CallEvent.ENDING):
            self.machine.apply(CallEvent.ENDING)
        if hangup:
            await self.session.close()  # first: the hang-up drops the sideband anyway
            with contextlib.suppress(CallControlError):  # 404: it had ended anyway
                await self.services.control.hangup(self.call_id)
        self._ended.set()

    # --------------------------------------------------------------------------------- events

    async def _consume(self) -> None:
        async for event in self.session.events():
            await self._on_event(event)

    async def _on_event(self, event: ev.SessionEvent) -> None:
        if isinstance(event, ev.EndCallRequested):
            await self._end("completed", hangup=True)
        elif isinstance(event, ev.TransferRequested):
            self._tasks.append(asyncio.ensure_future(self._transfer(event)))
        elif isinstance(event, ev.SessionFailed):
            await self._session_over(event.reason)
        elif isinstance(event, ev.CallerSpeech):
            self.timers.caller_speech(event.active)
        else:
            note_session_event(self.record, event)

    async def _session_over(self, reason: str) -> None:
        if self.connector.call_gone:  # the sideband closed because the call ended
            outcome = "transferred" if self._transferred else "caller_hangup"
            if self.machine.can(CallEvent.CALLER_HANGUP):
                self.machine.apply(CallEvent.CALLER_HANGUP)
            await self._end(outcome, hangup=False)
            return
        self.record.errors.append(reason)
        await self._end("model_failed", hangup=True)

    def _on_playout(self, kind: str) -> None:
        if kind == "output_audio_buffer.started":
            self.record.mark("first_agent_audio", time.monotonic())
            if self.machine.can(CallEvent.MEDIA_ACTIVE):
                self.machine.apply(CallEvent.MEDIA_ACTIVE)

    async def _transfer(self, event: ev.TransferRequested) -> None:
        log.info("transfer_started", target=event.target)
        ok, status, detail = True, 200, "REFER requested"
        try:
            await self.services.control.refer(self.call_id, event.uri)
        except CallControlError as exc:
            ok, status, detail = False, exc.status, str(exc)
        note_transfer(self.record, event.target, event.uri, TransferOutcome(ok, status, detail))
        log.info("transfer_finished", ok=ok, status=status)
        await self.session.transfer_result(event.call_id, ok, detail)
        if not ok:
            return
        self._transferred = True
        with contextlib.suppress(TimeoutError):  # OpenAI ends the call once the target answers
            await asyncio.wait_for(self._ended.wait(), self.services.transfer_wait_s)
        await self._end("transferred", hangup=True)

    async def _say_and_end(self, text: str, outcome: str) -> None:
        await self.session.say(text)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.session.wait_playout_done(), 15)
        await self._end(outcome, hangup=True)

    def _agent_busy(self) -> bool:
        """A response is under way, or the server is still playing one to the caller."""
        idle = self.session.protocol.state is ResponseState.IDLE
        return not idle or self.session.tools.output_playing

    async def end_politely(
        self, text: str = "Sorry, we have to end the call now. Goodbye."
    ) -> None:
        """End a live call from outside (gateway shutdown): say ``text``, then hang up."""
        if self._ending or self.record.sip_codes != [200]:
            return  # not accepted (yet): nothing to end politely
        await self._say_and_end(text, "ended_by_gateway")

    # -------------------------------------------------------------------------------- records

    def _write_cdr(self) -> dict[str, Any]:
        record = self.record
        if not record.outcome:
            record.outcome = "ended"
        record.usage = dict(self.session.usage)
        record.counters["sideband_attaches"] = self.connector.attaches
        offset = time.time() - time.monotonic()
        return self.services.cdr.write(
            record, self.session.history.transcript(), clock_offset=offset
        )
