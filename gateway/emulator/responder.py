"""The session's responses: starting them from a request, at most one per conversation.

Only one response may write to the default conversation at a time (a second gets
``conversation_already_has_active_response``); out-of-band ones (``conversation: "none"``)
run beside it and never touch the conversation. Cancelling with no active response answers
``response_cancel_not_active`` "Cancellation failed: no active response found".
"""

from __future__ import annotations

from typing import Any

from gateway.core.audio import parse_codec
from gateway.emulator.config import SessionConfig
from gateway.emulator.context import RateLimits, input_tokens, turn_for
from gateway.emulator.conversation import Conversation, Item
from gateway.emulator.events import Ids
from gateway.emulator.faults import Faults
from gateway.emulator.model import ScenarioModel
from gateway.emulator.response import Pace, ResponseRun, ResponseSpec
from gateway.emulator.schema import ClientEventError
from gateway.emulator.voice import Voice

__all__ = ["Responder"]

Events = list[dict[str, Any]]


class Responder:
    """Runs a session's responses and remembers what they produced."""

    def __init__(
        self,
        *,
        ids: Ids,
        conversation: Conversation,
        conversation_id: str,
        model: ScenarioModel,
        voice: Voice,
        pace: Pace,
        faults: Faults,
        now: float,
    ) -> None:
        self._ids = ids
        self._conversation = conversation
        self._conversation_id = conversation_id
        self._model = model
        self._voice = voice
        self._pace = pace
        self._faults = faults
        self._runs: list[ResponseRun] = []
        self._rate_limits = RateLimits()
        self._last_input = 0
        self.audio_produced = False
        """Whether any response has produced audio (the voice is then locked)."""
        self.playback_end = now
        """When the last default-conversation response's audio ends playing (idle timer)."""

    @property
    def default_run(self) -> ResponseRun | None:
        return next((r for r in self._runs if r.spec.conversation_id is not None), None)

    @property
    def deadlines(self) -> list[float | None]:
        return [run.deadline for run in self._runs]

    def create(
        self, now: float, params: dict[str, Any], config: SessionConfig, idle_ids: set[str]
    ) -> Events:
        """``response.create``: refused while a default-conversation response is active."""
        active = self.default_run
        if params.get("conversation") != "none" and active is not None:
            raise ClientEventError(
                f"Conversation already has an active response in progress: {active.id}. "
                "Wait until the response is finished before creating a new one.",
                code="conversation_already_has_active_response",
            )
        return self.start(now, params, config, idle_ids)

    def start(
        self, now: float, params: dict[str, Any], config: SessionConfig, idle_ids: set[str]
    ) -> Events:
        """Start a response: ``rate_limits.updated``, ``response.created``, then its output."""
        in_conversation = params.get("conversation") != "none"
        items = self._context(params.get("input"), config)
        reply = self._model.reply(
            turn_for(items, idle_ids),
            response_instructions=params.get("instructions"),
            tools=params.get("tools", config.tools),
            tool_choice=params.get("tool_choice", config.tool_choice),
            instructions=config.instructions,
        )
        spec = self._spec(params, config, items, in_conversation)
        run = ResponseRun(
            spec,
            reply,
            ids=self._ids,
            conversation=self._conversation if in_conversation else None,
            voice=self._voice,
            pace=self._pace,
        )
        limits = self._rate_limits.reserve(spec)
        events = [
            {"type": "rate_limits.updated", "event_id": self._ids.event(), "rate_limits": limits}
        ]
        self._runs.append(run)
        return events + run.start(now) + self.advance(now)

    def cancel(self, now: float, response_id: str | None, reason: str) -> Events:
        """Cancel ``response_id``, or the default-conversation response."""
        if response_id:
            run = next((r for r in self._runs if r.id == response_id), None)
        else:
            run = self.default_run
        if run is None:
            raise ClientEventError(
                "Cancellation failed: no active response found", code="response_cancel_not_active"
            )
        events = run.cancel(now, reason)
        self._retire(run)
        return events

    def advance(self, now: float) -> Events:
        events: Events = []
        for run in list(self._runs):
            events += run.advance(now)
            self.audio_produced = self.audio_produced or run.audio_ms > 0
            if not run.active:
                self._retire(run)
        return events

    def _retire(self, run: ResponseRun) -> None:
        self._runs.remove(run)
        self.audio_produced = self.audio_produced or run.audio_ms > 0
        if run.spec.conversation_id is not None and run.finished_at is not None:
            self.playback_end = run.finished_at + run.audio_ms / 1000

    def _context(self, given: list[dict[str, Any]] | None, config: SessionConfig) -> list[Item]:
        """What the model reads: the conversation, or the request's own ``input``."""
        if given is None:
            return list(self._conversation.items)
        return [
            self._conversation.require(data["id"], "retrieve")
            if data["type"] == "item_reference"
            else Item.from_client(data, data.get("id") or self._ids.item(), config.input_codec)
            for data in given
        ]

    def _spec(
        self, params: dict[str, Any], config: SessionConfig, items: list[Item], in_conv: bool
    ) -> ResponseSpec:
        output = params.get("audio", {}).get("output", {})
        fmt = dict(output.get("format") or config.output_format)
        if fmt["type"] == "audio/pcm":
            fmt.setdefault("rate", 24000)
        instructions = params.get("instructions", config.instructions)
        tokens = input_tokens(instructions, items, self._last_input)
        self._last_input = tokens.total
        return ResponseSpec(
            id=self._ids.response(),
            conversation_id=self._conversation_id if in_conv else None,
            modalities=tuple(params.get("output_modalities") or config.output_modalities),
            output_format=fmt,
            codec=parse_codec(fmt),
            voice=output.get("voice", config.voice),
            speed=config.speed,
            max_output_tokens=params.get("max_output_tokens", config.max_output_tokens),
            metadata=params.get("metadata"),
            input_tokens=tokens.total,
            input_audio_tokens=tokens.audio,
            cached_tokens=tokens.cached,
            delay_ms=self._faults.response_delay_ms,
            stall_after_ms=self._faults.stall_after_ms,
            stall_for_ms=self._faults.stall_for_ms,
        )
