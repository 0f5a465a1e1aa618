"""One emulated Realtime session, sans-I/O: client messages and the time in, actions out.

The adapter (server.py) calls :meth:`EmulatedSession.open` once, then :meth:`receive` for each
WebSocket message and :meth:`tick` whenever :meth:`next_deadline` passes; each returns the
:data:`Action` list to perform (``Send`` an event, ``Close`` with a code, ``Abort`` the TCP
connection). Nothing here does I/O or reads a clock.

Turn taking, in the API's order::

    speech_started (barge-in: cancel the default response, reason turn_detected)
    speech_stopped, committed, conversation.item.added/.done (user audio item),
    [transcription .delta* .completed], [rate_limits.updated, response.created, ...]

Rejected client events become ``error`` events carrying the client's ``event_id``; the session
goes on. Timers: the session's maximum duration (``session_expired``, then close 4000), the
``server_vad`` idle timeout (counted from the end of the last response's playback: its
``response.done`` time plus its audio duration) and the injected faults.

A SIP call's session (``SessionOptions.sip``) is driven by the call, not by a socket: caller
audio comes in with :meth:`input_audio`, keypad presses with :meth:`dtmf`, and the server owns
playout (:class:`~gateway.emulator.playout.ServerPlayout`: ``output_audio_buffer.*``).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from gateway.emulator.client_events import CLIENT_EVENTS, SIP_CLIENT_EVENTS, parse_client_event
from gateway.emulator.config import SessionConfig, default_session
from gateway.emulator.context import transcription_events
from gateway.emulator.conversation import Conversation, Item
from gateway.emulator.events import Ids, error_event
from gateway.emulator.faults import ErrorInjection, Faults
from gateway.emulator.input_audio import Committed, InputAudio
from gateway.emulator.model import ScenarioModel
from gateway.emulator.playout import ServerPlayout
from gateway.emulator.recognizer import Recognizer, recognizer_for
from gateway.emulator.responder import Responder
from gateway.emulator.response import Pace
from gateway.emulator.scenario import Scenario
from gateway.emulator.schema import ClientEventError
from gateway.emulator.timers import Deadline, SessionClock
from gateway.emulator.vad import SpeechStarted
from gateway.emulator.voice import Voice, voice_named

__all__ = ["Abort", "Action", "Close", "EmulatedSession", "Send", "SessionOptions"]

MAX_APPEND_BYTES = 15 * 1024 * 1024
MIN_COMMIT_MS = 100
CLOSE_REQUEST_ERROR = 4000
CLOSE_SERVER_ERROR = 1011


@dataclass(frozen=True, slots=True)
class Send:
    event: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Close:
    code: int
    reason: str


@dataclass(frozen=True, slots=True)
class Abort:
    """Drop the TCP connection without a close frame."""


Action = Send | Close | Abort


@dataclass(frozen=True, slots=True)
class SessionOptions:
    """Everything a session is built from; ``initial`` is a validated ``session`` update."""

    model: str = "gpt-realtime"
    scenario: Scenario = field(default_factory=Scenario)
    pace: Pace = field(default_factory=Pace)
    faults: Faults = field(default_factory=Faults)
    max_duration_s: float = 3600.0
    seed: int | None = None
    initial: dict[str, Any] | None = None
    recognizer: Recognizer | None = None
    voice: Voice | None = None
    sip: bool = False
    """A SIP call's session: audio from the call, server-owned playout, DTMF events."""


class EmulatedSession:
    """The server side of one Realtime session."""

    def __init__(self, options: SessionOptions, *, now: float, unix_time: float) -> None:
        self._options = options
        self._ids = Ids(options.seed)
        self.id = self._ids.new("sess_")
        expires = int(unix_time + options.max_duration_s)
        self._config = SessionConfig(default_session(options.model, self.id, expires))
        if options.initial is not None:
            self._config = self._config.updated(options.initial)
        scenario = options.scenario
        self._recognizer = options.recognizer or recognizer_for(scenario)
        self._input = InputAudio(self._config.input_codec, self._config.vad)
        self.conversation = Conversation()
        self._responder = Responder(
            ids=self._ids,
            conversation=self.conversation,
            conversation_id=self._ids.new("conv_"),
            model=ScenarioModel(scenario),
            voice=options.voice or voice_named(scenario.voice),
            pace=options.pace,
            faults=options.faults,
            now=now,
        )
        self._out: list[Action] = []
        self._closed = False
        self._pending_item: str | None = None
        self._speech_start_ms = 0
        self._idle_items: set[str] = set()
        self._idle_from = now
        self._expires_at = now + options.max_duration_s
        self._expired = False
        self._clock = SessionClock(options.faults, self._expires_at, now)
        self._playout = ServerPlayout(self._ids, self.conversation) if options.sip else None
        self._events = SIP_CLIENT_EVENTS if options.sip else CLIENT_EVENTS
        self._now = now

    # ------------------------------------------------------------------ public

    @property
    def config(self) -> SessionConfig:
        return self._config

    @property
    def closed(self) -> bool:
        return self._closed

    def open(self, now: float) -> list[Action]:
        """The first events of a connection (again on each re-attach to a call's session)."""
        self._closed = self._expired
        self._clock = SessionClock(self._options.faults, self._expires_at, now)
        self._send("session.created", session=self._config.to_wire())
        return self._drain()

    def receive(self, message: str | bytes, now: float) -> list[Action]:
        """Handle one client WebSocket message."""
        if self._closed:
            return []
        self._now = now
        event_id: str | None = None
        try:
            event = parse_client_event(message, self._events)
            event_id = event.get("event_id")
            self._HANDLERS[event["type"]](self, event, now)
        except ClientEventError as exc:
            self._out.append(Send(error_event(self._ids, exc, exc.client_event_id or event_id)))
        return self.tick(now)

    def tick(self, now: float) -> list[Action]:
        """Do whatever is due at ``now``."""
        self._now = now
        if not self._closed:
            self._emit(self._responder.advance(now))
            if self._playout is not None:
                self._emit(self._playout.due(now))
            self._check_idle(now)
            self._check_faults(now)
        return self._drain()

    def input_audio(self, audio: bytes, now: float) -> list[Action]:
        """Caller audio from the SIP leg, in the session's input codec."""
        self._now = now
        if not self._closed:
            self._write_input(audio, now)
        return self.tick(now)

    def dtmf(self, digit: str, received_at: int, now: float) -> list[Action]:
        """A keypad press on the SIP leg (the event carries no ``event_id``, as documented)."""
        event = {"type": "input_audio_buffer.dtmf_event_received", "event": digit}
        self._out.append(Send({**event, "received_at": received_at}))
        return self.tick(now)

    def next_deadline(self) -> float | None:
        """When :meth:`tick` next has work, if ever."""
        if self._closed:
            return None
        times = [self._clock.next_deadline(), self._idle_deadline()]
        times += self._responder.deadlines
        times.append(self._playout.deadline if self._playout is not None else None)
        return min((t for t in times if t is not None), default=None)

    # ------------------------------------------------------------------ session

    def _session_update(self, event: dict[str, Any], now: float) -> None:
        update = dict(event["session"])
        self._config.check_update(update)  # tracing is locked once enabled
        voice = update.get("audio", {}).get("output", {}).get("voice")
        if voice is not None and voice != self._config.voice and self._responder.audio_produced:
            raise ClientEventError(
                "Cannot update a conversation's voice if assistant audio is present.",
                code="cannot_update_voice",
            )
        if update.get("model", self._config.model) != self._config.model:
            update.pop("model")  # the model is fixed for the session's lifetime
        old = self._config
        self._config = old.updated(update)
        if (old.input_codec, old.vad) != (self._config.input_codec, self._config.vad):
            self._input.reconfigure(self._config.input_codec, self._config.vad)
            self._idle_from = now
        self._send("session.updated", session=self._config.to_wire())

    # ------------------------------------------------------------------ input audio

    def _append(self, event: dict[str, Any], now: float) -> None:
        try:
            audio = base64.b64decode(event["audio"], validate=True)
        except ValueError:  # binascii.Error is a ValueError
            raise ClientEventError(
                "Invalid 'audio': expected base64-encoded audio.",
                code="invalid_value",
                param="audio",
            ) from None
        if len(audio) > MAX_APPEND_BYTES:
            raise ClientEventError(
                "Invalid 'audio': audio chunk too large. Expected at most 15 MiB.",
                code="invalid_value",
                param="audio",
            )
        self._write_input(audio, now)

    def _write_input(self, audio: bytes, now: float) -> None:
        for found in self._input.write(audio):
            if isinstance(found, SpeechStarted):
                self._speech_started(found.onset_ms, now)
            else:
                self._speech_stopped(found.end_ms, now)

    def _speech_started(self, onset_ms: int, now: float) -> None:
        vad = self._config.vad
        assert vad is not None  # only a configured VAD reports speech
        self._pending_item = self._ids.item()
        self._speech_start_ms = max(self._input.buffer_start_ms, onset_ms - vad.prefix_padding_ms)
        self._send(
            "input_audio_buffer.speech_started",
            audio_start_ms=self._speech_start_ms,
            item_id=self._pending_item,
        )
        if vad.interrupt_response and self._responder.default_run is not None:
            self._emit(self._responder.cancel(now, None, "turn_detected"))
        if vad.interrupt_response and self._playout is not None:  # the server's own barge-in
            self._emit(self._playout.clear(now))

    def _speech_stopped(self, end_ms: int, now: float) -> None:
        vad = self._config.vad
        assert vad is not None
        item_id, self._pending_item = self._pending_item or self._ids.item(), None
        self._send("input_audio_buffer.speech_stopped", audio_end_ms=end_ms, item_id=item_id)
        self._commit(self._input.take(self._speech_start_ms, end_ms), item_id, recognise=True)
        self._idle_from = now
        if vad.create_response and self._responder.default_run is None:
            self._respond(now)

    def _commit_event(self, event: dict[str, Any], now: float) -> None:
        buffered = self._input.buffered_ms
        if buffered < MIN_COMMIT_MS:
            raise ClientEventError(
                "Error committing input audio buffer: buffer too small. Expected at least "
                f"{MIN_COMMIT_MS}ms of audio, but buffer only has {buffered:.2f}ms of audio.",
                code="input_audio_buffer_commit_empty",
            )
        item_id, self._pending_item = self._pending_item or self._ids.item(), None
        self._input.forget_speech()
        self._commit(self._input.take(), item_id, recognise=True)
        self._idle_from = now

    def _clear(self, event: dict[str, Any], now: float) -> None:
        self._input.clear()
        self._pending_item = None
        self._send("input_audio_buffer.cleared")

    def _commit(self, audio: Committed, item_id: str, *, recognise: bool) -> Item:
        item = Item(id=item_id, type="message", role="user")
        item.content.append({"type": "input_audio", "transcript": None})
        item.audio, item.codec = bytearray(audio.audio), audio.codec
        item.heard = (
            self._recognizer.transcribe(audio.pcm16, audio.codec.sample_rate) if recognise else ""
        )
        previous = self.conversation.append(item)
        self._send("input_audio_buffer.committed", previous_item_id=previous, item_id=item.id)
        self._send("conversation.item.added", previous_item_id=previous, item=item.to_wire())
        self._send("conversation.item.done", previous_item_id=previous, item=item.to_wire())
        if self._config.transcription_model is not None:
            self._transcribe(item, self._config.transcription_model)
        return item

    def _transcribe(self, item: Item, model: str) -> None:
        item.content[0]["transcript"] = item.heard or ""
        for kind, fields in transcription_events(item.id, item.heard or "", item.audio_ms, model):
            self._send(kind, **fields)

    # ------------------------------------------------------------------ items

    def _item_create(self, event: dict[str, Any], now: float) -> None:
        data = event["item"]
        item = Item.from_client(data, data.get("id") or self._ids.item(), self._config.input_codec)
        previous = self.conversation.insert(item, event.get("previous_item_id"))
        self._send("conversation.item.added", previous_item_id=previous, item=item.to_wire())
        self._send("conversation.item.done", previous_item_id=previous, item=item.to_wire())

    def _item_delete(self, event: dict[str, Any], now: float) -> None:
        self.conversation.delete(event["item_id"])
        self._send("conversation.item.deleted", item_id=event["item_id"])

    def _item_retrieve(self, event: dict[str, Any], now: float) -> None:
        item = self.conversation.require(event["item_id"], "retrieve")
        self._send("conversation.item.retrieved", item=item.to_wire(with_audio=True))

    def _item_truncate(self, event: dict[str, Any], now: float) -> None:
        item_id, index, end = event["item_id"], event["content_index"], event["audio_end_ms"]
        self.conversation.truncate(item_id, index, end)
        self._send(
            "conversation.item.truncated", item_id=item_id, content_index=index, audio_end_ms=end
        )

    # ------------------------------------------------------------------ responses

    def _response_create(self, event: dict[str, Any], now: float) -> None:
        params = event.get("response", {})
        self._emit(self._responder.create(now, params, self._config, self._idle_items))

    def _response_cancel(self, event: dict[str, Any], now: float) -> None:
        self._emit(self._responder.cancel(now, event.get("response_id"), "client_cancelled"))

    def _output_clear(self, event: dict[str, Any], now: float) -> None:
        assert self._playout is not None  # only a SIP session's parser lets it through
        self._emit(self._playout.clear(now))

    def _respond(self, now: float) -> None:
        self._emit(self._responder.start(now, {}, self._config, self._idle_items))

    # ------------------------------------------------------------------ timers

    def _idle_deadline(self) -> float | None:
        vad = self._config.vad
        if vad is None or vad.idle_timeout_ms is None:
            return None
        if self._input.speaking or self._responder.default_run is not None:
            return None
        return max(self._idle_from, self._responder.playback_end) + vad.idle_timeout_ms / 1000

    def _check_idle(self, now: float) -> None:
        deadline = self._idle_deadline()
        if deadline is None or now < deadline:
            return
        idle_ms = round((now - max(self._idle_from, self._responder.playback_end)) * 1000)
        end_ms = self._input.position_ms
        start_ms = max(self._input.buffer_start_ms, end_ms - idle_ms)
        item_id = self._ids.item()
        self._send(
            "input_audio_buffer.timeout_triggered",
            audio_start_ms=start_ms,
            audio_end_ms=end_ms,
            item_id=item_id,
        )
        self._commit(self._input.take(start_ms), item_id, recognise=False)
        self._idle_items.add(item_id)
        self._idle_from = now
        self._respond(now)

    def _check_faults(self, now: float) -> None:
        for due in self._clock.due(now):
            if self._closed:
                return
            if isinstance(due, ErrorInjection):
                self._inject(due)
            elif due is Deadline.DROP:
                self._closed = True
                self._out.append(Abort())
            else:
                cap = _duration(self._options.max_duration_s)
                message = f"Your session hit the maximum duration of {cap}."
                self._fail(ClientEventError(message, code="session_expired"), CLOSE_REQUEST_ERROR)
                self._expired = True

    def _inject(self, fault: ErrorInjection) -> None:
        error = ClientEventError(fault.message, code=fault.code, kind=fault.type)
        if fault.close:
            self._fail(error, CLOSE_SERVER_ERROR)
        else:
            self._out.append(Send(error_event(self._ids, error, None)))

    def _fail(self, error: ClientEventError, close_code: int) -> None:
        self._out.append(Send(error_event(self._ids, error, None)))
        reason = f"{error.kind}.{error.code}" if error.code else error.kind
        self._out.append(Close(close_code, reason))
        self._closed = True

    # ------------------------------------------------------------------ output

    def _send(self, kind: str, **fields: Any) -> None:
        self._out.append(Send({"type": kind, "event_id": self._ids.event(), **fields}))

    def _emit(self, events: list[dict[str, Any]]) -> None:
        if self._playout is not None:
            events = self._playout.observe(events, self._now, self._config.output_codec)
        self._out.extend(Send(event) for event in events)

    def _drain(self) -> list[Action]:
        out, self._out = self._out, []
        return out

    _HANDLERS: ClassVar[dict[str, Callable[[EmulatedSession, dict[str, Any], float], None]]] = {
        "session.update": _session_update,
        "input_audio_buffer.append": _append,
        "input_audio_buffer.commit": _commit_event,
        "input_audio_buffer.clear": _clear,
        "conversation.item.create": _item_create,
        "conversation.item.delete": _item_delete,
        "conversation.item.retrieve": _item_retrieve,
        "conversation.item.truncate": _item_truncate,
        "response.create": _response_create,
        "response.cancel": _response_cancel,
        "output_audio_buffer.clear": _output_clear,
    }


def _duration(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g} minutes"
    return f"{seconds:g} seconds"
