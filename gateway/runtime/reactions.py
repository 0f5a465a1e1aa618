"""What one session does with each server event the protocol hands over (:class:`Deliver`).

The protocol (:mod:`gateway.core.realtime.protocol`) already did the audio, barge-in and
response bookkeeping; what is left is the call's: keep the history, pass transcripts to the
guardrails and function calls to the tools, count usage, echo DTMF, and tell the caller side.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import structlog

from gateway.core.realtime import wire as w
from gateway.runtime import events as ev

if TYPE_CHECKING:
    from gateway.runtime.session import RealtimeSession

__all__ = ["ServerEventReactions"]

log = structlog.get_logger()

FATAL_CODES = frozenset({"session_expired", "beta_api_shape_disabled"})
"""Error codes after which this session cannot go on (``session_expired`` reconnects)."""

_HISTORY_CHANGES = (w.ItemDone, w.ItemTruncated, w.InputTranscriptionCompleted, w.ItemDeleted)


class ServerEventReactions:
    """Applies one session's delivered server events to its history, tools and guardrails."""

    def __init__(self, session: RealtimeSession) -> None:
        self._s = session

    async def handle(self, event: w.ServerEvent) -> None:
        history = self._s.history
        if history.apply(event) and isinstance(event, _HISTORY_CHANGES):
            self._s.emit(ev.HistoryUpdated(tuple(history.items)))
        react = _REACTIONS.get(type(event))
        if react is not None:
            await react(self, event)

    async def _error(self, event: w.ErrorEvent) -> None:
        code, message = event.error.code, event.error.message
        fatal = code in FATAL_CODES
        log.warning("realtime_error", code=code, message=message, fatal=fatal)
        self._s.emit(ev.ErrorOccurred(code, message, fatal=fatal))
        if code == "session_expired":
            await self._s.drop_connection()  # the read loop reconnects with the history

    async def _user_transcript(self, event: w.InputTranscriptionCompleted) -> None:
        self._s.emit(ev.TranscriptUpdated("user", event.item_id, event.transcript, final=True))
        await self._s.guards.on_user_transcript(event.transcript)

    async def _transcript_delta(self, event: w.TranscriptDelta) -> None:
        await self._s.guards.on_agent_delta(event.item_id, event.delta)

    async def _transcript_done(self, event: w.TranscriptDone) -> None:
        self._s.emit(ev.TranscriptUpdated("assistant", event.item_id, event.transcript, final=True))
        await self._s.guards.on_agent_done(event.item_id, event.transcript)

    async def _arguments_done(self, event: w.ArgumentsDone) -> None:
        await self._s.tools.on_call(event.call_id, event.name, event.arguments)

    async def _output_item_done(self, event: w.OutputItemDone) -> None:
        item = event.item
        if item.type == "function_call" and item.call_id and item.name:
            await self._s.tools.on_call(item.call_id, item.name, item.arguments or "{}")

    async def _response_done(self, event: w.ResponseDone) -> None:
        response = event.response
        usage = response.usage.model_dump(exclude_none=True) if response.usage else {}
        total = self._s.usage
        for key in ("total_tokens", "input_tokens", "output_tokens"):
            total[key] = total.get(key, 0) + int(usage.get(key, 0))
        reason = response.status_details.reason if response.status_details else None
        counts = {k: int(v) for k, v in usage.items() if isinstance(v, int)}
        playout = self._s.playout
        if playout is not None:
            playout.release_all()  # the response's text has all been checked
        self._s.emit(ev.ResponseFinished(response.id, response.status or "", reason, counts))

    async def _dtmf(self, event: w.DtmfReceived) -> None:
        await self._s.send_dtmf(event.event)

    async def _output_buffer(self, event: w.OutputBufferEvent) -> None:
        if event.type == "output_audio_buffer.started":
            self._s.lock_voice()  # no audio deltas on a SIP sideband: this is the first audio
        self._s.tools.on_output_buffer(event.type)

    async def _speech(self, event: w.SpeechStarted | w.SpeechStopped) -> None:
        self._s.emit(ev.CallerSpeech(isinstance(event, w.SpeechStarted)))

    async def _audio_done(self, event: w.AudioDone) -> None:
        playout = self._s.playout
        if playout is not None:
            playout.finish(event.item_id)

    async def _mcp(self, event: w.McpEvent) -> None:
        self._s.emit(ev.McpEventSeen(event.type, event.item_id))


_REACTIONS: dict[type[Any], Callable[[ServerEventReactions, Any], Awaitable[None]]] = {
    w.ErrorEvent: ServerEventReactions._error,
    w.InputTranscriptionCompleted: ServerEventReactions._user_transcript,
    w.TranscriptDelta: ServerEventReactions._transcript_delta,
    w.TranscriptDone: ServerEventReactions._transcript_done,
    w.ArgumentsDone: ServerEventReactions._arguments_done,
    w.OutputItemDone: ServerEventReactions._output_item_done,
    w.ResponseDone: ServerEventReactions._response_done,
    w.DtmfReceived: ServerEventReactions._dtmf,
    w.OutputBufferEvent: ServerEventReactions._output_buffer,
    w.McpEvent: ServerEventReactions._mcp,
    w.SpeechStarted: ServerEventReactions._speech,
    w.SpeechStopped: ServerEventReactions._speech,
    w.AudioDone: ServerEventReactions._audio_done,
}
