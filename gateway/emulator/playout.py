"""The server-owned output audio buffer of a SIP session, sans-I/O (``output_audio_buffer.*``).

On the SIP path the service plays the model's audio to the caller itself (protocol brief §3,
§5.5). :class:`ServerPlayout` models that buffer on the session's timeline: audio plays in real
time, each delta queued after what is already queued.

* The first audio while the buffer is idle: ``output_audio_buffer.started`` (right after that
  delta, so after the content part was added).
* Once the responses that queued audio are done and it has all played:
  ``output_audio_buffer.stopped``.
* :meth:`clear` (the client's ``output_audio_buffer.clear``, or VAD barge-in with
  ``interrupt_response``): the unplayed rest is dropped, each cut assistant item is truncated
  at what was heard (``conversation.item.truncated``, the automatic truncation WebRTC
  documents and SIP is presumed to share), then ``output_audio_buffer.cleared``. The rest of a
  cleared response's audio is cut off too: if it is still being generated (the client is told
  to send ``response.cancel`` first), its later deltas are dropped, never played.

Events carry the ``response_id`` of the last response that queued audio. UNVERIFIED choices:
``started``/``stopped`` span back-to-back responses once; the truncation event is sent.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from gateway.core.audio import AudioCodec
from gateway.emulator.conversation import Conversation
from gateway.emulator.events import Ids

__all__ = ["ServerPlayout"]

Event = dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Segment:
    """One delta's audio on the playout timeline."""

    item_id: str
    start: float
    end: float
    item_offset_ms: float
    """Where in its item this audio starts."""


def _decoded_len(b64: str) -> int:
    return len(b64) * 3 // 4 - b64[-2:].count("=") if b64 else 0


class ServerPlayout:
    """One SIP session's output buffer; the session feeds it its events and the time."""

    def __init__(self, ids: Ids, conversation: Conversation) -> None:
        self._ids = ids
        self._conversation = conversation
        self._response: str | None = None
        """The last response that queued audio; None while the buffer is idle."""
        self._open: set[str] = set()
        """Responses that queued audio and are not done yet."""
        self._end = 0.0
        self._segments: deque[_Segment] = deque()
        self._item_ms: dict[str, float] = {}
        self._cut: set[str] = set()
        """Responses whose audio was cleared: any more of it is dropped."""

    @property
    def playing(self) -> bool:
        return self._response is not None

    @property
    def deadline(self) -> float | None:
        """When the buffer drains, if nothing more will be queued (the time to tick)."""
        return self._end if self._response is not None and not self._open else None

    def observe(self, events: list[Event], now: float, codec: AudioCodec) -> list[Event]:
        """The session's output events, with ``started`` added where playback begins."""
        out: list[Event] = []
        for event in events:
            kind = event["type"]
            if kind == "response.output_audio.delta" and event["response_id"] in self._cut:
                continue
            out.append(event)
            if kind == "response.output_audio.delta":
                out += self._queue(event, now, _decoded_len(event["delta"]) / codec.bytes_per_ms)
            elif kind == "response.done":
                self._open.discard(event["response"]["id"])
        return out

    def due(self, now: float) -> list[Event]:
        """``stopped`` once everything queued has played and no response adds more."""
        deadline = self.deadline
        if deadline is None or now < deadline:
            return []
        response_id = self._response
        self._reset()
        return [self._event("output_audio_buffer.stopped", response_id)]

    def clear(self, now: float) -> list[Event]:
        """Drop what has not played: truncations of the cut items, then ``cleared``."""
        if self._response is None:
            return []
        response_id = self._response
        out = [self._truncated(item_id, ms) for item_id, ms in self._heard(now).items()]
        self._cut |= self._open | {response_id}
        self._reset()
        return [e for e in out if e is not None] + [
            self._event("output_audio_buffer.cleared", response_id)
        ]

    # ------------------------------------------------------------------ internals

    def _queue(self, delta: Event, now: float, ms: float) -> list[Event]:
        started: list[Event] = []
        response_id, item_id = delta["response_id"], delta["item_id"]
        if self._response is None:
            self._end = now
            started.append(self._event("output_audio_buffer.started", response_id))
        self._response = response_id
        self._open.add(response_id)
        start = max(self._end, now)
        self._end = start + ms / 1000
        offset = self._item_ms.get(item_id, 0.0)
        self._segments.append(_Segment(item_id, start, self._end, offset))
        self._item_ms[item_id] = offset + ms
        return started

    def _heard(self, now: float) -> dict[str, float]:
        """Per item with unplayed audio: the ms of it heard by ``now``."""
        heard: dict[str, float] = {}
        for seg in self._segments:
            if seg.end <= now or seg.item_id in heard:
                continue
            heard[seg.item_id] = seg.item_offset_ms + max(0.0, now - seg.start) * 1000
        return heard

    def _truncated(self, item_id: str, heard_ms: float) -> Event | None:
        item = self._conversation.get(item_id)
        if item is None or item.codec is None or not item.audio:
            return None
        end_ms = min(int(heard_ms), int(item.audio_ms))
        self._conversation.truncate(item_id, 0, end_ms)
        return {
            "type": "conversation.item.truncated",
            "event_id": self._ids.event(),
            "item_id": item_id,
            "content_index": 0,
            "audio_end_ms": end_ms,
        }

    def _reset(self) -> None:
        self._response = None
        self._open.clear()
        self._segments.clear()
        self._item_ms.clear()

    def _event(self, kind: str, response_id: str | None) -> Event:
        return {"type": kind, "event_id": self._ids.event(), "response_id": response_id}
