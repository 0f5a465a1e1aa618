"""Between the Realtime session and a call's media buffers, on the asyncio side.

Downlink: :class:`PlayoutFeeder` is the session's playout sink. It decodes model audio (the
session's codec) to 8 kHz PCM16, re-frames it into exact 20 ms frames per assistant item and
pushes them into the call's :class:`~gateway.adapters.sip.media.PlayoutRing`, each tagged with
the API-codec bytes it stands for, so the ring's played counts are directly what
``conversation.item.truncate`` needs.

Uplink: :class:`UplinkTicker` sends every call's frames as soon as pjmedia's clock thread has
put them (it rings a doorbell), one append per call and wake-up; :func:`pump_uplink` is the
per-call alternative on its own 20 ms timeline.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

import structlog

from gateway.adapters.sip.doorbell import Doorbell
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
    """Every call's uplink in the process, sent as soon as pjmedia hands the frames over.

    Each call's :class:`~gateway.adapters.sip.media.UplinkQueue` rings one shared
    :class:`~gateway.adapters.sip.doorbell.Doorbell` from the clock thread after a put; the
    ticker's task then drains every queue and sends each call's frames as one append. One
    clock tick delivers every call's frame within microseconds, so one wake-up usually serves
    them all (as the timer of a shared 20 ms grid did, which left each frame waiting ~2-3 ms
    for the timer instead). Should a ring ever go astray, the task drains anyway after
    ``safety_s``. Calls join with :meth:`add` and leave with :meth:`remove`; the task runs
    while there are calls.
    """

    def __init__(self, safety_s: float = 2 * FRAME_MS / 1000) -> None:
        self._safety = safety_s
        self._calls: dict[int, tuple[UplinkQueue, Callable[[bytes], bytes], Send]] = {}
        self._next = 0
        self._task: asyncio.Task[None] | None = None
        self._bell: Doorbell | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._pending = False
        self.wakeups = 0
        """Drains so far (rung or on the safety timeout)."""

    def add(self, queue: UplinkQueue, codec: AudioCodec, send: Send) -> int:
        """Start forwarding ``queue`` (encoded to ``codec``) through ``send``; returns a handle."""
        loop = asyncio.get_running_loop()
        if self._bell is None:
            self._bell = Doorbell()
            loop.add_reader(self._bell.fileno(), self._on_ring)
        self._next += 1
        self._calls[self._next] = (queue, uplink_encoder(codec), send)
        queue.attach(self._bell.ring)
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run(), name="uplink-ticker")
        return self._next

    def remove(self, handle: int) -> None:
        entry = self._calls.pop(handle, None)
        if entry is not None:
            entry[0].attach(None)
        if not self._calls:
            self._wake()  # the task sees there is nothing left and ends

    @property
    def calls(self) -> int:
        return len(self._calls)

    @property
    def running(self) -> bool:
        """Whether the task is on (it is while there are calls)."""
        return self._task is not None and not self._task.done()

    def fileno(self) -> int | None:
        """The doorbell's fd the loop watches (None before the first call and after stop)."""
        return None if self._bell is None else self._bell.fileno()

    async def stop(self) -> None:
        for queue, _, _ in self._calls.values():
            queue.attach(None)
        self._calls.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._bell is not None:
            asyncio.get_running_loop().remove_reader(self._bell.fileno())
            self._bell.close()
            self._bell = None

    def _on_ring(self) -> None:
        """Loop (the doorbell's fd is readable): wake the task, or tell it to drain again."""
        if self._bell is not None:
            self._bell.clear()
        self._pending = True
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while self._calls:
            if not self._pending:
                self._waiter = waiter = loop.create_future()
                timeout = loop.call_later(self._safety, self._wake)
                try:
                    await waiter
                finally:
                    timeout.cancel()
                    self._waiter = None
            self._pending = False
            if self._bell is not None:
                self._bell.arm()  # before draining: a frame put from now on rings again
            self.wakeups += 1
            await self._drain_all(loop)

    async def _drain_all(self, loop: asyncio.AbstractEventLoop) -> None:
        """Send every call's queued frames, each call's as one append."""
        for queue, encode, send in list(self._calls.values()):
            frames, stamps = queue.drain_stamped()
            if not frames:
                continue
            try:
                await send(encode(b"".join(frames)))
            except Exception:  # one call's failure must not stop the others
                log.exception("uplink_send_failed")
                continue
            queue.sent(stamps, loop.time())
