"""Between the Realtime session and a call's media buffers, on the asyncio side.

Downlink: :class:`PlayoutFeeder` is the session's playout sink. It decodes model audio (the
session's codec) to 8 kHz PCM16, re-frames it into exact 20 ms frames per assistant item and
pushes them into the call's :class:`~gateway.adapters.sip.media.PlayoutRing`, each tagged with
the API-codec bytes it stands for, so the ring's played counts are directly what
``conversation.item.truncate`` needs.

Uplink: :func:`pump_uplink` drains the caller's frames every 20 ms on an absolute monotonic
timeline, encodes them to the session's codec once per tick and sends one append.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

import structlog

from gateway.adapters.sip.media import FRAME_BYTES, PlayoutRing, UplinkQueue
from gateway.core.audio.codec import FRAME_MS, AudioCodec
from gateway.core.audio.framer import Framer
from gateway.core.audio.transcode import downlink_decoder, uplink_encoder
from gateway.core.realtime.release import ReleaseGate

log = structlog.get_logger()

__all__ = ["PlayoutFeeder", "UplinkTicker", "pump_uplink"]


class _ItemStream:
    __slots__ = ("attributed", "framer", "gated", "pushed", "received")

    def __init__(self) -> None:
        self.framer = Framer(FRAME_BYTES, 0)
        self.received = 0
        self.attributed = 0
        self.pushed = 0
        self.gated = False


class PlayoutFeeder:
    """A :class:`~gateway.runtime.ports.PlayoutSink` writing into a call's playout ring."""

    def __init__(self, ring: PlayoutRing, codec: AudioCodec, *, guarded: bool = False) -> None:
        self._ring = ring
        self._gate: ReleaseGate | None = ReleaseGate() if guarded else None
        self.gating = False
        """Hold new items' audio until their text passed the guardrails (the runtime sets it
        per agent: only agents with fast output guardrails are gated)."""
        self._decode = downlink_decoder(codec)
        self._api_per_frame = codec.frame_bytes
        self._bytes_per_ms = codec.bytes_per_ms
        self._items: dict[str, _ItemStream] = {}
        self.first_push_at: float | None = None
        self.last_push_at: float | None = None
        """When model audio last arrived (the dead-air watch reads it)."""

    def push(self, item_id: str, audio: bytes) -> None:
        stream = self._items.get(item_id)
        if stream is None:
            self._finish_others(item_id)
            stream = self._items[item_id] = _ItemStream()
            stream.gated = self.gating and self._gate is not None
            if stream.gated:
                self._ring.hold_from(self._ring.next_seq)
        stream.received += len(audio)
        self.last_push_at = time.monotonic()
        frames = stream.framer.push(self._decode(audio))
        if frames:
            self._queue(item_id, stream, frames)

    def _queue(self, item_id: str, stream: _ItemStream, frames: list[bytes]) -> None:
        credits = []
        for _ in frames:
            credit = min(self._api_per_frame, stream.received - stream.attributed)
            stream.attributed += credit
            credits.append(credit)
        first, accepted = self._ring.push_many(frames, item_id, credits)
        if not accepted:
            return
        if self.first_push_at is None:
            self.first_push_at = time.monotonic()
        if stream.gated and self._gate is not None:
            self._release(self._gate.on_frames(item_id, first - stream.pushed, accepted))
        stream.pushed += accepted

    def _release(self, cursor: int | None) -> None:
        if cursor is not None:
            self._ring.release_upto(cursor)

    # -- guarded playout: the runtime reports how far each item's text is known clean --

    def gate_text(self, item_id: str, safe_chars: int, total_chars: int) -> None:
        if self._gate is not None:
            self._release(self._gate.on_text(item_id, safe_chars, total_chars))

    def gate_text_done(self, item_id: str, total_chars: int, clean: bool) -> None:
        if self._gate is not None:
            self._release(self._gate.on_text_done(item_id, total_chars, clean))

    def release_all(self) -> None:
        """The response is over: nothing is held any more (a trip has flushed already)."""
        self._ring.release_all()

    def finish(self, item_id: str) -> None:
        stream = self._items.pop(item_id, None)
        if stream is None:
            return
        tail = stream.framer.flush()
        if tail is not None:
            self._queue(item_id, stream, [tail])
        if stream.gated and self._gate is not None:
            self._release(self._gate.on_audio_done(item_id))
        if not self._items:
            self._ring.end_of_audio()

    def _finish_others(self, item_id: str) -> None:
        for other in [i for i in self._items if i != item_id]:
            self.finish(other)

    def flush(self) -> dict[str, int]:
        self._items.clear()
        if self._gate is not None:
            self._gate.clear()
        return self._ring.flush()

    def take_played(self) -> dict[str, int]:
        return self._ring.take_played()

    def pending_ms(self) -> int:
        held = sum(s.framer.pending for s in self._items.values()) // (FRAME_BYTES // FRAME_MS)
        return self._ring.queued_ms + held


async def pump_uplink(
    queue: UplinkQueue,
    codec: AudioCodec,
    send: Callable[[bytes], Awaitable[None]],
    *,
    frame_ms: int = FRAME_MS,
) -> None:
    """Forever: every ``frame_ms`` drain the caller's frames, encode, send (one append)."""
    encode = uplink_encoder(codec)
    loop = asyncio.get_running_loop()
    start = loop.time()
    tick = 0
    while True:
        tick += 1
        delay = start + tick * frame_ms / 1000 - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -1.0:  # the loop stalled for a second: re-anchor instead of bursting
            start, tick = loop.time(), 0
        frames, stamps = queue.drain_stamped()
        if frames:
            await send(encode(b"".join(frames)))
            queue.sent(stamps, loop.time())


Send = Callable[[bytes], Awaitable[None]]


class UplinkTicker:
    """One 20 ms timeline for every call's uplink in the process.

    A timer per call costs a loop wakeup per call every 20 ms (about 0.6 % of a core per call
    here); one shared tick drains every call's queue in a single wakeup, with the same 20 ms
    uplink latency. Calls join with :meth:`add` and leave with :meth:`remove`; the ticker's task
    runs while it has calls and ends when the last one leaves.

    The tick is phase-locked to pjmedia's clock: every call of the process receives its frame
    on the same clock tick, so the ticker wakes ``lag_s`` after the newest frame it drained,
    plus one period. A frame then waits ~``lag_s`` for its append instead of anywhere in 0-20
    ms (with no frames, e.g. before media starts, it keeps its own 20 ms timeline). When the
    clock runs late (a busy machine), a call that had a frame last time finds none: the ticker
    looks again ``retry_s`` later (once per call and stall) instead of leaving that frame a
    whole period behind.
    """

    def __init__(
        self, frame_ms: int = FRAME_MS, lag_s: float = 0.001, retry_s: float = 0.002
    ) -> None:
        self._period = frame_ms / 1000
        self._lag = lag_s
        self._retry = retry_s
        self._last: dict[int, float] = {}
        """Each call's newest frame so far (when it was put)."""
        self._stalled: set[int] = set()
        """Calls already looked at again for their late frame (once per stall)."""
        self._calls: dict[int, tuple[UplinkQueue, Callable[[bytes], bytes], Send]] = {}
        self._next = 0
        self._task: asyncio.Task[None] | None = None

    def add(self, queue: UplinkQueue, codec: AudioCodec, send: Send) -> int:
        """Start forwarding ``queue`` (encoded to ``codec``) through ``send``; returns a handle."""
        self._next += 1
        self._calls[self._next] = (queue, uplink_encoder(codec), send)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="uplink-ticker")
        return self._next

    def remove(self, handle: int) -> None:
        self._calls.pop(handle, None)
        self._last.pop(handle, None)
        self._stalled.discard(handle)

    @property
    def calls(self) -> int:
        return len(self._calls)

    async def stop(self) -> None:
        self._calls.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        while self._calls:
            due += self._period
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -1.0:  # the loop stalled: re-anchor instead of bursting
                due = loop.time()
            newest, missed = await self._drain_all(loop)
            if newest is not None:  # lock onto pjmedia's clock: next frames at newest + period
                due = newest + self._lag
            if missed:  # the clock is late for some call: look again shortly
                due = loop.time() + self._retry - self._period

    async def _drain_all(self, loop: asyncio.AbstractEventLoop) -> tuple[float | None, bool]:
        """Send every call's queued frames: the newest frame's arrival time (None: none), and
        whether some call's next frame is overdue (a late clock tick, looked at once)."""
        newest: float | None = None
        missed = False
        overdue = loop.time() - self._period - self._lag  # a frame older than this has a successor
        for handle, (queue, encode, send) in list(self._calls.items()):
            frames, stamps = queue.drain_stamped()
            if not frames:
                last = self._last.get(handle)
                if last is not None and last < overdue and handle not in self._stalled:
                    self._stalled.add(handle)
                    missed = True
                continue
            self._stalled.discard(handle)
            self._last[handle] = stamps[-1]
            try:
                await send(encode(b"".join(frames)))
            except Exception:  # one call's failure must not stop the others
                log.exception("uplink_send_failed")
                continue
            queue.sent(stamps, loop.time())
            newest = stamps[-1] if newest is None else max(newest, stamps[-1])
        return newest, missed
