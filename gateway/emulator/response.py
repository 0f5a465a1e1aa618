"""One response: the events it streams, paced faster than real time, and its cancellation.

A :class:`ResponseRun` plays a :class:`~gateway.emulator.model.Reply` out as GA events. Its
script is a generator that yields how long to wait before its next step; :meth:`advance`
runs every step that is due on an absolute timeline (start + waits, no drift), so the session
stays sans-I/O: the caller only says what time it is.

Per spoken part::

    response.output_item.added, conversation.item.added, response.content_part.added,
    (response.output_audio_transcript.delta* response.output_audio.delta)*   every gap_ms,
    response.output_audio.done, response.output_audio_transcript.done,
    response.content_part.done, conversation.item.done, response.output_item.done

(the last three in the order a live capture showed), per tool call ``output_item.added``,
``conversation.item.added``, ``function_call_arguments.delta``/``.done``, ``conversation.item
.done``, ``output_item.done``; then ``response.done``. Out-of-band responses
(``conversation: "none"``) skip the ``conversation.item.*`` events. A cancel closes the open
part with status ``incomplete`` and ends with ``response.done`` ``cancelled``.
"""

from __future__ import annotations

import base64
import math
from collections import deque
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any

from gateway.core.audio import AudioCodec, pcm16_to_alaw, pcm16_to_ulaw
from gateway.emulator.conversation import Conversation, Item
from gateway.emulator.events import Ids
from gateway.emulator.model import Call, Reply, Say
from gateway.emulator.voice import Voice

__all__ = ["Pace", "ResponseRun", "ResponseSpec"]

_ENCODERS: dict[AudioCodec, Callable[[bytes], bytes]] = {
    AudioCodec.PCMU: pcm16_to_ulaw,
    AudioCodec.PCMA: pcm16_to_alaw,
    AudioCodec.PCM16: bytes,
}
AUDIO_TOKENS_PER_S = 20
TEXT_WORDS_PER_STEP = 3


@dataclass(frozen=True, slots=True)
class Pace:
    """How fast the model produces output.

    ``chunk_ms`` of audio every ``gap_ms`` (default 200 / 20: ten times real time), the first
    output ``latency_ms`` after ``response.created``.
    """

    chunk_ms: int = 200
    gap_ms: int = 20
    latency_ms: int = 200


@dataclass(frozen=True, slots=True)
class ResponseSpec:
    """A response's effective parameters, resolved from the session and the request."""

    id: str
    conversation_id: str | None
    modalities: tuple[str, ...]
    output_format: dict[str, Any]
    codec: AudioCodec
    voice: Any
    speed: float
    max_output_tokens: int | str
    metadata: Any
    input_tokens: int
    input_audio_tokens: int
    cached_tokens: int
    delay_ms: int = 0
    stall_after_ms: int | None = None
    stall_for_ms: int | None = None


class ResponseRun:
    """Streams one response's events as time passes."""

    def __init__(
        self,
        spec: ResponseSpec,
        reply: Reply,
        *,
        ids: Ids,
        conversation: Conversation | None,
        voice: Voice,
        pace: Pace,
    ) -> None:
        self.spec = spec
        self._ids = ids
        self._conversation = conversation
        self._voice = voice
        self._pace = pace
        self._reply, self._incomplete = _within_budget(reply, spec)
        self._items: list[Item] = []
        self._open: Item | None = None
        self._out: list[dict[str, Any]] = []
        self._steps = self._script()
        self._due: float | None = None
        self.audio_ms = 0.0
        self.finished_at: float | None = None
        self._chars = 0
        self._stalled = False

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def active(self) -> bool:
        return self.finished_at is None

    @property
    def deadline(self) -> float | None:
        """When :meth:`advance` next has work (``None`` when done or stalled for good)."""
        return None if self._due is None or math.isinf(self._due) else self._due

    def start(self, now: float) -> list[dict[str, Any]]:
        self._emit("response.created", response=self._wire("in_progress", None, None))
        self._due = now + (self._pace.latency_ms + self.spec.delay_ms) / 1000
        return self._drain()

    def advance(self, now: float) -> list[dict[str, Any]]:
        while self._due is not None and self._due <= now:
            try:
                self._due += next(self._steps)
            except StopIteration:
                if self._incomplete:
                    details = {"type": "incomplete", "reason": "max_output_tokens"}
                    self._finish(now, "incomplete", details)
                else:
                    self._finish(now, "completed")
        return self._drain()

    def cancel(self, now: float, reason: str) -> list[dict[str, Any]]:
        """End now with ``status: cancelled`` (``client_cancelled`` or ``turn_detected``)."""
        if self.active:
            self._steps.close()
            if self._open is not None:
                self._close(self._open, "incomplete")
            self._finish(now, "cancelled", {"type": "cancelled", "reason": reason})
        return self._drain()

    # ------------------------------------------------------------------ script

    def _script(self) -> Generator[float, None, None]:
        for index, part in enumerate(self._reply):
            if isinstance(part, Say):
                item = self._open_message(index)
                if "audio" in self.spec.modalities:
                    yield from self._speak(item, index, part.text)
                else:
                    yield from self._write(item, index, part.text)
                self._close(item, "completed")
            else:
                yield from self._call(index, part)

    def _speak(self, item: Item, index: int, text: str) -> Iterator[float]:
        codec = self.spec.codec
        utterance = self._voice.synthesize(text, codec.sample_rate, self.spec.speed)
        encoded = _ENCODERS[codec](utterance.pcm)
        words = deque(utterance.words)
        step = self._pace.chunk_ms * codec.bytes_per_ms
        for offset in range(0, len(encoded), step):
            while words and words[0].start_ms < (offset + step) / codec.bytes_per_ms:
                mark = words.popleft()
                item.words.append(mark)
                self._delta(item, index, "response.output_audio_transcript.delta", mark.text)
            chunk = encoded[offset : offset + step]
            if not item.truncated:
                item.audio += chunk
            self.audio_ms += len(chunk) / codec.bytes_per_ms
            self._delta(
                item, index, "response.output_audio.delta", base64.b64encode(chunk).decode()
            )
            yield from self._stall()
            yield self._pace.gap_ms / 1000

    def _stall(self) -> Iterator[float]:
        after = self.spec.stall_after_ms
        if after is not None and self.audio_ms >= after and not self._stalled:
            self._stalled = True
            stall = self.spec.stall_for_ms
            yield math.inf if stall is None else stall / 1000

    def _write(self, item: Item, index: int, text: str) -> Iterator[float]:
        words = text.split()
        for start in range(0, len(words), TEXT_WORDS_PER_STEP):
            piece = " ".join(words[start : start + TEXT_WORDS_PER_STEP])
            piece = piece if start == 0 else f" {piece}"
            item.content[0]["text"] += piece
            self._delta(item, index, "response.output_text.delta", piece)
            yield self._pace.gap_ms / 1000

    def _call(self, index: int, call: Call) -> Iterator[float]:
        item = Item(id=self._ids.item(), type="function_call", status="in_progress")
        item.call_id, item.name, item.arguments = self._ids.call(), call.name, ""
        self._add(item, index)
        yield self._pace.gap_ms / 1000
        half = len(call.arguments) // 2
        ids = {"response_id": self.id, "item_id": item.id, "output_index": index}
        for piece in (call.arguments[:half], call.arguments[half:]):
            item.arguments += piece
            self._emit(
                "response.function_call_arguments.delta", **ids, call_id=item.call_id, delta=piece
            )
        self._emit(
            "response.function_call_arguments.done",
            **ids,
            call_id=item.call_id,
            name=call.name,
            arguments=item.arguments,
        )
        self._chars += len(call.arguments)
        self._close(item, "completed")

    # ------------------------------------------------------------------ items

    def _open_message(self, index: int) -> Item:
        item = Item(id=self._ids.item(), type="message", role="assistant", status="in_progress")
        self._add(item, index)
        if "audio" in self.spec.modalities:
            item.content.append({"type": "output_audio", "transcript": ""})
            item.codec = self.spec.codec
            part = {"type": "audio", "transcript": ""}
        else:
            item.content.append({"type": "output_text", "text": ""})
            part = {"type": "text", "text": ""}
        self._emit("response.content_part.added", **self._part_ids(item, index), part=part)
        return item

    def _add(self, item: Item, index: int) -> None:
        self._items.append(item)
        self._open = item
        self._emit(
            "response.output_item.added",
            response_id=self.id,
            output_index=index,
            item=item.to_wire(),
        )
        if self._conversation is not None:
            previous = self._conversation.append(item)
            self._emit("conversation.item.added", previous_item_id=previous, item=item.to_wire())

    def _close(self, item: Item, status: str) -> None:
        index = self._items.index(item)
        if item.type == "message":
            self._close_part(item, index)
        item.status = status
        if self._conversation is not None and self._conversation.get(item.id) is item:
            previous = self._conversation.previous_id(item)
            self._emit("conversation.item.done", previous_item_id=previous, item=item.to_wire())
        self._emit(
            "response.output_item.done",
            response_id=self.id,
            output_index=index,
            item=item.to_wire(),
        )
        self._open = None

    def _close_part(self, item: Item, index: int) -> None:
        ids = self._part_ids(item, index)
        if item.codec is None:
            text = item.content[0]["text"]
            self._chars += len(text)
            self._emit("response.output_text.done", **ids, text=text)
            self._emit("response.content_part.done", **ids, part={"type": "text", "text": text})
            return
        transcript = "".join(w.text for w in item.words)
        if not item.truncated:  # a truncate deleted the item's transcript
            item.content[0]["transcript"] = transcript
        self._chars += len(transcript)
        self._emit("response.output_audio.done", **ids)
        self._emit("response.output_audio_transcript.done", **ids, transcript=transcript)
        part = {"type": "audio", "transcript": transcript}
        self._emit("response.content_part.done", **ids, part=part)

    def _part_ids(self, item: Item, index: int) -> dict[str, Any]:
        return {
            "response_id": self.id,
            "item_id": item.id,
            "output_index": index,
            "content_index": 0,
        }

    def _delta(self, item: Item, index: int, kind: str, delta: str) -> None:
        self._emit(kind, **self._part_ids(item, index), delta=delta)

    # ------------------------------------------------------------------ done

    def _finish(self, now: float, status: str, details: dict[str, Any] | None = None) -> None:
        self._due = None
        self.finished_at = now
        self._emit("response.done", response=self._wire(status, details, self._usage()))

    def _usage(self) -> dict[str, Any]:
        text_out = math.ceil(self._chars / 4)
        audio_out = math.ceil(self.audio_ms / 1000 * AUDIO_TOKENS_PER_S)
        spec = self.spec
        return {
            "total_tokens": spec.input_tokens + text_out + audio_out,
            "input_tokens": spec.input_tokens,
            "output_tokens": text_out + audio_out,
            "input_token_details": {
                "text_tokens": spec.input_tokens - spec.input_audio_tokens,
                "audio_tokens": spec.input_audio_tokens,
                "image_tokens": 0,
                "cached_tokens": spec.cached_tokens,
                "cached_tokens_details": {
                    "text_tokens": spec.cached_tokens,
                    "audio_tokens": 0,
                    "image_tokens": 0,
                },
            },
            "output_token_details": {"text_tokens": text_out, "audio_tokens": audio_out},
        }

    def _wire(
        self, status: str, details: dict[str, Any] | None, usage: dict[str, Any] | None
    ) -> dict[str, Any]:
        spec = self.spec
        return {
            "object": "realtime.response",
            "id": spec.id,
            "status": status,
            "status_details": details,
            "output": [item.to_wire() for item in self._items],
            "conversation_id": spec.conversation_id,
            "output_modalities": list(spec.modalities),
            "max_output_tokens": spec.max_output_tokens,
            "audio": {"output": {"format": spec.output_format, "voice": spec.voice}},
            "usage": usage,
            "metadata": spec.metadata,
        }

    def _emit(self, kind: str, **fields: Any) -> None:
        self._out.append({"type": kind, "event_id": self._ids.event(), **fields})

    def _drain(self) -> list[dict[str, Any]]:
        out, self._out = self._out, []
        return out


def _within_budget(reply: Reply, spec: ResponseSpec) -> tuple[Reply, bool]:
    """Cut spoken words so the estimated output fits ``max_output_tokens``."""
    limit = spec.max_output_tokens
    if not isinstance(limit, int):
        return reply, False
    per_char = 0.25 + (AUDIO_TOKENS_PER_S / 14 if "audio" in spec.modalities else 0.0)
    budget = float(limit)
    kept: list[Say | Call] = []
    for part in reply:
        text = part.text if isinstance(part, Say) else part.arguments
        cost = len(text) * (per_char if isinstance(part, Say) else 0.25)
        if cost <= budget:
            kept.append(part)
            budget -= cost
            continue
        if isinstance(part, Say):
            words = text.split()
            while words and len(" ".join(words)) * per_char > budget:
                words.pop()
            if words:
                kept.append(Say(" ".join(words)))
        return tuple(kept), True
    return tuple(kept), False
