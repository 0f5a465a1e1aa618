"""Guardrails in a live session: output checks on the agent's transcript, input on the caller's.

Output: fast guardrails run on the transcript deltas, debounced every ``debounce_chars``
characters and always on the final transcript; slow ones run as tasks on the final transcript
only. A trip interrupts the agent (flush, truncate at what was heard, cancel) and sends the
agent's feedback so it answers again without the offending part.

Input: on each caller transcript; a hit says something, transfers or ends the call.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import TYPE_CHECKING, Any

import structlog

from gateway.core.agents.agent import RealtimeAgent
from gateway.core.agents.guardrails import GuardrailTrip, InputGuardrailHit, TranscriptChecker
from gateway.runtime import events as ev

if TYPE_CHECKING:
    from gateway.runtime.session import RealtimeSession

__all__ = ["GuardrailRunner"]

log = structlog.get_logger()

SPEECH_CHARS_PER_S = 15.0
"""Typical speaking rate, to estimate where offending text falls in the audio (for the
heard-before-cut metric only; guarded playout itself uses a conservative rate)."""


class GuardrailRunner:
    """Applies the current agent's guardrails to one session's transcripts."""

    def __init__(self, session: RealtimeSession) -> None:
        self._s = session
        self._agent: RealtimeAgent | None = None
        self._checker: TranscriptChecker | None = None
        self._slow: list[Any] = []
        self._tripped: set[str] = set()
        self._gating = False

    def set_agent(self, agent: RealtimeAgent) -> None:
        """Use ``agent``'s guardrails; with guarded playout, gate its audio on every delta."""
        self._agent = agent
        fast = [g for g in agent.output_guardrails if not g.slow]
        self._slow = [g for g in agent.output_guardrails if g.slow]
        playout = self._s.playout
        self._gating = bool(fast) and self._s.settings.guarded_playout and playout is not None
        if playout is not None:
            playout.gating = self._gating
        debounce = 1 if self._gating else agent.guardrail_debounce_chars
        self._checker = TranscriptChecker(fast, debounce_chars=debounce) if fast else None

    async def on_agent_delta(self, item_id: str, delta: str) -> None:
        checker = self._checker
        if checker is None or item_id in self._tripped:
            return
        trip = checker.delta(item_id, delta)
        if trip is not None:
            await self._trip(item_id, trip)
        elif self._gating and self._s.playout is not None:
            text = checker.text(item_id)
            self._s.playout.gate_text(item_id, checker.safe_upto(item_id), len(text))

    async def on_agent_done(self, item_id: str, transcript: str) -> None:
        if item_id in self._tripped:
            return
        if self._checker is not None:
            trip = self._checker.done(item_id, transcript)
            if trip is not None:
                await self._trip(item_id, trip)
                return
            if self._gating and self._s.playout is not None:
                self._s.playout.gate_text_done(item_id, len(transcript), clean=True)
        for guardrail in self._slow:
            self._s.tools.spawn_guard(self._slow_check(guardrail, item_id, transcript))

    async def _slow_check(self, guardrail: Any, item_id: str, transcript: str) -> None:
        result = await _run_slow(guardrail, transcript, output=True)
        if isinstance(result, GuardrailTrip) and item_id not in self._tripped:
            await self._trip(item_id, result)

    async def _trip(self, item_id: str, trip: GuardrailTrip) -> None:
        self._tripped.add(item_id)
        agent = self._agent
        assert agent is not None
        log.warning("guardrail_tripped", guardrail=trip.guardrail, reason=trip.reason)
        offending_ms = trip.offset * 1000 / SPEECH_CHARS_PER_S
        heard = await self._s.interrupt("guardrail")
        leaked = None if heard is None else heard > offending_ms
        self._s.emit(
            ev.GuardrailTripped(agent.name, trip.guardrail, trip.reason, item_id, heard, leaked)
        )
        await self._s.send_system(agent.guardrail_feedback)

    async def on_user_transcript(self, text: str) -> None:
        agent = self._agent
        if agent is None:
            return
        for guardrail in agent.input_guardrails:
            if guardrail.slow:
                self._s.tools.spawn_guard(self._slow_input(agent, guardrail, text))
                continue
            hit = guardrail.check(text)
            if hit is not None:
                await self._act(agent, hit)
                return

    async def _slow_input(self, agent: RealtimeAgent, guardrail: Any, text: str) -> None:
        hit = await _run_slow(guardrail, text, output=False)
        if isinstance(hit, InputGuardrailHit) and agent is self._agent:
            await self._act(agent, hit)

    async def _act(self, agent: RealtimeAgent, hit: InputGuardrailHit) -> None:
        log.info("input_guardrail_triggered", guardrail=hit.guardrail, action=hit.action)
        self._s.emit(
            ev.InputGuardrailTriggered(
                agent.name, hit.guardrail, hit.action, hit.target, hit.message
            )
        )
        await self._s.interrupt("input_guardrail")
        if hit.message:
            await self._s.say(hit.message)
        if hit.action == "transfer" and hit.target is not None:
            self._s.tools.spawn_guard(self._s.tools.transfer_to(hit.target))
        elif hit.action == "end_call":
            self._s.tools.spawn_guard(self._s.tools.end_call_after_playout(hit.guardrail))


async def _run_slow(guardrail: Any, text: str, *, output: bool) -> object:
    """Run a slow guardrail off the event path: awaited if async, else in a worker thread."""
    function = getattr(guardrail, "function", None)
    if function is not None and inspect.iscoroutinefunction(function):
        return await guardrail.acheck(text)
    if output:
        return await asyncio.to_thread(guardrail.check, text, True)
    return await asyncio.to_thread(guardrail.check, text)
