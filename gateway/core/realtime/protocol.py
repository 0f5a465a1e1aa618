"""The Realtime session protocol, sans-I/O: response lifecycle, playout accounting, barge-in.

Server events go in through :meth:`SessionProtocol.receive`; requests from the application go in
through :meth:`request_response`, :meth:`interrupt` and friends; every method returns a list of
:mod:`actions <gateway.core.realtime.actions>` for the driver to carry out. Nothing here does
I/O or reads a clock.

Response lifecycle (one response may write to the conversation at a time)::

    state       event                     next       what happens
    IDLE        request_response          REQUESTED  send response.create
    REQUESTED   request_response          REQUESTED  queue the request
    ACTIVE      request_response          ACTIVE     queue the request
    IDLE        response.created          ACTIVE     (server VAD started one)
    REQUESTED   response.created          ACTIVE
    REQUESTED   error active_response     ACTIVE     requeue ours first; wait for response.done
    ACTIVE      response.done             IDLE       then send the next queued request

So ``conversation_already_has_active_response`` is never caused by us, and survives a race with
server VAD when it happens anyway.

Barge-in (``input_audio_buffer.speech_started``, when ``interrupt_response`` is on and there is
unplayed assistant audio or an active response) and :meth:`interrupt`: first ``FlushPlayout``;
the driver drops unplayed audio and reports what was played via :meth:`playout_flushed`, which
answers with ``conversation.item.truncate`` at the played position (never past what was received,
never for an item fully played, never before any audio exists), ``response.cancel`` only when the
server will not cancel by itself, and :class:`AudioInterrupted`. Late audio deltas of an
interrupted response are dropped by ``response_id``.
"""

from __future__ import annotations

import base64
import binascii
import enum
from collections import deque
from collections.abc import Mapping
from typing import Any

from gateway.core.audio.codec import AudioCodec, parse_codec
from gateway.core.audio.ledger import PlayoutLedger
from gateway.core.realtime import wire as w
from gateway.core.realtime.actions import (
    Action,
    AudioInterrupted,
    Deliver,
    FlushPlayout,
    FormatMismatch,
    PlayAudio,
    SendEvent,
)
from gateway.core.realtime.wire_client import (
    ClientEvent,
    ItemTruncate,
    ResponseCancel,
    ResponseCreate,
    ResponseParams,
)
from gateway.errors import RemoteProtocolError, UnknownCodecError

__all__ = ["ResponseState", "SessionProtocol"]

_BENIGN_ERRORS = frozenset({"response_cancel_not_active"})
_ACTIVE_RESPONSE = "conversation_already_has_active_response"


class ResponseState(enum.Enum):
    IDLE = "idle"
    REQUESTED = "requested"
    ACTIVE = "active"


class SessionProtocol:
    """One Realtime session's protocol state (one per connection; see :meth:`reset`)."""

    def __init__(self, output_codec: AudioCodec, *, server_owns_playout: bool = False) -> None:
        self.output_codec = output_codec
        self.server_owns_playout = server_owns_playout
        self.ledger = PlayoutLedger(output_codec)
        self.state = ResponseState.IDLE
        self.active_response_id: str | None = None
        self._queue: deque[ResponseParams | None] = deque()
        self._last_create: tuple[ResponseParams | None] | None = None
        self._dropped: set[str] = set()
        self._audible_item: str | None = None
        self._server_interrupts = True
        self._pending_cause: str | None = None
        self._cancel_when_created = False
        self.last_cut_fraction: float | None = None
        """Heard share of the item cut by the last interrupt (None: not cut / fully heard)."""
        self._next_id = 0
        self._requested: dict[str, Any] = {}

    # ----------------------------------------------------------------------------- application

    def send(self, event: ClientEvent) -> SendEvent:
        """Wrap a client event with a fresh ``event_id`` (so errors can be matched to it)."""
        self._next_id += 1
        return SendEvent(event, f"gw_{self._next_id}")

    def expect_session(self, session: Mapping[str, Any]) -> None:
        """Remember the session fields we asked for, to check ``session.updated`` against."""
        audio = session.get("audio") or {}
        turn = (audio.get("input") or {}).get("turn_detection", ...)
        if turn is not ...:
            self._server_interrupts = bool(turn and turn.get("interrupt_response", True))
        for direction in ("input", "output"):
            fmt = (audio.get(direction) or {}).get("format")
            if fmt is not None:
                self._requested[f"audio.{direction}.format"] = parse_codec(fmt)

    def request_response(self, params: ResponseParams | None = None) -> list[Action]:
        """Ask for a model response, now if none is active, else after the current one."""
        if self.state is not ResponseState.IDLE:
            if params is not None or not self._queue or self._queue[-1] is not None:
                self._queue.append(params)
            return []
        return [self._create(params)]

    def interrupt(self, cause: str = "interrupt") -> list[Action]:
        """Stop the assistant now (guardrail, DTMF, application): flush, then truncate/cancel."""
        if self.state is ResponseState.IDLE and not self._unplayed_audio():
            return []
        self._pending_cause = cause
        return [FlushPlayout()]

    def playout_flushed(self, played: Mapping[str, int]) -> list[Action]:
        """The driver dropped unplayed audio; ``played`` = API bytes played since last report."""
        self.sync_played(played)
        cause = self._pending_cause
        if cause is None:
            return []
        self._pending_cause = None
        actions: list[Action] = []
        server_cancels = cause == "speech" and self._server_interrupts
        if self.state is ResponseState.ACTIVE and self.active_response_id is not None:
            self._dropped.add(self.active_response_id)
            if not server_cancels:
                actions.append(self.send(ResponseCancel(response_id=self.active_response_id)))
        elif self.state is ResponseState.REQUESTED and not server_cancels:
            self._cancel_when_created = True
        item_id, end_ms = self._truncate(actions)
        actions.append(AudioInterrupted(item_id, end_ms, cause))
        return actions

    def sync_played(self, played: Mapping[str, int]) -> None:
        """Record API-codec bytes the caller has heard, per item."""
        for item_id, nbytes in played.items():
            self.ledger.on_played(item_id, nbytes)

    def reset(self) -> None:
        """Forget per-connection state (after a reconnect the server starts a new session)."""
        self.state = ResponseState.IDLE
        self.active_response_id = None
        self._last_create = None
        self._dropped.clear()
        self._audible_item = None
        self._pending_cause = None
        self._cancel_when_created = False
        self.ledger = PlayoutLedger(self.output_codec)

    @property
    def audible_item(self) -> str | None:
        """The assistant item whose audio was received last (what the caller hears or heard)."""
        return self._audible_item

    @property
    def queued_requests(self) -> int:
        return len(self._queue)

    # ---------------------------------------------------------------------------------- server

    def receive(self, event: w.ServerEvent) -> list[Action]:
        """Apply one server event; returns what to do about it."""
        handler = _HANDLERS.get(type(event))
        if handler is None:
            return [Deliver(event)]
        actions: list[Action] = handler(self, event)
        return actions

    def _on_audio_delta(self, event: w.AudioDelta) -> list[Action]:
        if event.response_id in self._dropped:
            return []
        try:
            audio = base64.b64decode(event.delta, validate=True)
        except binascii.Error:
            raise RemoteProtocolError(f"audio delta for {event.item_id} is not base64") from None
        self.ledger.on_received(event.item_id, event.content_index, len(audio))
        self._audible_item = event.item_id
        return [PlayAudio(event.item_id, event.response_id, event.content_index, audio)]

    def _on_audio_done(self, event: w.AudioDone) -> list[Action]:
        self.ledger.on_complete(event.item_id)
        return [] if event.response_id in self._dropped else [Deliver(event)]

    def _on_dropped_capable(self, event: w.TranscriptDelta | w.TranscriptDone) -> list[Action]:
        return [] if event.response_id in self._dropped else [Deliver(event)]

    def _on_response_created(self, event: w.ResponseCreated) -> list[Action]:
        self.state = ResponseState.ACTIVE
        self.active_response_id = event.response.id
        if not self._cancel_when_created:
            return [Deliver(event)]
        self._cancel_when_created = False
        self._dropped.add(event.response.id)
        return [Deliver(event), self.send(ResponseCancel(response_id=event.response.id))]

    def _on_response_done(self, event: w.ResponseDone) -> list[Action]:
        if event.response.id == self.active_response_id or self.state is ResponseState.ACTIVE:
            self.state = ResponseState.IDLE
            self.active_response_id = None
        self._dropped.discard(event.response.id)
        actions: list[Action] = [Deliver(event)]
        if self.state is ResponseState.IDLE and self._queue:
            actions.append(self._create(self._queue.popleft()))
        return actions

    def _on_error(self, event: w.ErrorEvent) -> list[Action]:
        code = event.error.code
        if code == _ACTIVE_RESPONSE and self._last_create is not None:
            # our last response.create lost a race with a server-started response: try again
            # after that one is done (we never have two creates in flight)
            self._queue.appendleft(self._last_create[0])
            self._last_create = None
            if self.state is ResponseState.IDLE:  # that response already finished
                return [self._create(self._queue.popleft())]
            if self.state is ResponseState.REQUESTED:
                self.state = ResponseState.ACTIVE
            return []
        if code in _BENIGN_ERRORS:
            return []
        return [Deliver(event)]

    def _on_speech_started(self, event: w.SpeechStarted) -> list[Action]:
        actions: list[Action] = [Deliver(event)]
        if self.server_owns_playout:
            return actions
        if self.state is ResponseState.IDLE and not self._unplayed_audio():
            return actions
        self._pending_cause = "speech"
        return [FlushPlayout(), *actions]

    def _on_session(self, event: w.SessionCreated | w.SessionUpdated) -> list[Action]:
        actions: list[Action] = [Deliver(event)]
        audio = event.session.get("audio") or {}
        audio_in = audio.get("input") or {}
        if "turn_detection" in audio_in:  # the server's effective setting wins
            turn = audio_in["turn_detection"]
            self._server_interrupts = bool(turn and turn.get("interrupt_response", False))
        if isinstance(event, w.SessionUpdated):
            actions += self._check_formats(audio)
        return actions

    # -------------------------------------------------------------------------------- internals

    def _check_formats(self, audio: Mapping[str, Any]) -> list[Action]:
        mismatches: list[Action] = []
        for field, wanted in self._requested.items():
            direction = field.split(".")[1]
            fmt = (audio.get(direction) or {}).get("format")
            try:
                effective: object = parse_codec(fmt) if fmt is not None else None
            except UnknownCodecError:
                effective = fmt
            if effective != wanted:
                mismatches.append(FormatMismatch(field, wanted, effective))
        return mismatches

    def _create(self, params: ResponseParams | None) -> SendEvent:
        self.state = ResponseState.REQUESTED
        self._last_create = (params,)
        return self.send(ResponseCreate(response=params) if params else ResponseCreate())

    def _unplayed_audio(self) -> bool:
        item = self._audible_item
        return item is not None and not self.ledger.fully_played(item)

    def _truncate(self, actions: list[Action]) -> tuple[str | None, int | None]:
        item_id = self._audible_item
        if item_id is None:
            return None, None
        point = self.ledger.truncate_point(item_id)
        received = self.ledger.received_ms(item_id)
        self.last_cut_fraction = (
            point.audio_end_ms / received if point is not None and received else None
        )
        self.ledger.forget(item_id)
        self._audible_item = None
        if point is None:
            return item_id, None
        actions.append(self.send(ItemTruncate(**_fields(point))))
        return item_id, point.audio_end_ms


def _fields(point: Any) -> dict[str, Any]:
    return {
        "item_id": point.item_id,
        "content_index": point.content_index,
        "audio_end_ms": point.audio_end_ms,
    }


_HANDLERS: dict[type[Any], Any] = {
    w.AudioDelta: SessionProtocol._on_audio_delta,
    w.AudioDone: SessionProtocol._on_audio_done,
    w.TranscriptDelta: SessionProtocol._on_dropped_capable,
    w.TranscriptDone: SessionProtocol._on_dropped_capable,
    w.ResponseCreated: SessionProtocol._on_response_created,
    w.ResponseDone: SessionProtocol._on_response_done,
    w.ErrorEvent: SessionProtocol._on_error,
    w.SpeechStarted: SessionProtocol._on_speech_started,
    w.SessionCreated: SessionProtocol._on_session,
    w.SessionUpdated: SessionProtocol._on_session,
}
