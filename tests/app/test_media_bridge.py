"""PlayoutFeeder: model audio into exact frames in the ring, and guarded playout's gate."""

from __future__ import annotations

import asyncio
import os
import select
import threading
from typing import Any

import pytest

from gateway.adapters.sip.doorbell import Doorbell
from gateway.adapters.sip.media import SILENCE, PlayoutRing, UplinkQueue
from gateway.app.media_bridge import PlayoutFeeder, UplinkTicker, pump_uplink
from gateway.core.audio import AudioCodec


def _play(ring: PlayoutRing, ticks: int) -> list[bool]:
    """Which of the next ``ticks`` clock ticks played audio (True) or silence."""
    return [ring.next_frame() != SILENCE for _ in range(ticks)]


def test_ulaw_deltas_become_frames_credited_in_api_bytes() -> None:
    """250 μ-law bytes: one frame now (160 API bytes), the 90-byte tail on finish."""
    ring = PlayoutRing()
    feeder = PlayoutFeeder(ring, AudioCodec.PCMU)
    feeder.push("a", b"\x00" * 250)
    assert ring.counters().pushed == 1
    assert feeder.pending_ms() == 20 + 11
    feeder.finish("a")
    assert _play(ring, 3) == [True, True, False]
    assert ring.take_played() == {"a": 250}


def test_a_new_item_finishes_the_previous_one() -> None:
    """Audio of item b pushes out item a's partial frame first."""
    ring = PlayoutRing()
    feeder = PlayoutFeeder(ring, AudioCodec.PCMU)
    feeder.push("a", b"\x00" * 100)
    feeder.push("b", b"\x00" * 160)
    _play(ring, 2)
    assert ring.take_played() == {"a": 100, "b": 160}


def test_pcm16_frames_are_credited_960_bytes() -> None:
    """24 kHz PCM16 is resampled to 8 kHz; each frame stands for 960 API bytes."""
    ring = PlayoutRing()
    feeder = PlayoutFeeder(ring, AudioCodec.PCM16)
    feeder.push("a", b"\x00\x01" * 960 * 2)  # 80 ms
    feeder.finish("a")
    _play(ring, 5)
    assert ring.take_played() == {"a": 3840}


def test_guarded_item_waits_for_clean_text() -> None:
    """With gating on, an item's frames play only as far as its clean text covers."""
    ring = PlayoutRing(max_hold_ms=5000)
    feeder = PlayoutFeeder(ring, AudioCodec.PCMU, guarded=True)
    feeder.gating = True
    feeder.push("a", b"\x00" * 160 * 100)  # 2 s
    assert _play(ring, 3) == [False, False, False]
    feeder.gate_text("a", safe_chars=2, total_chars=10)  # 2 chars = 100 ms at 20 chars/s
    assert _play(ring, 6) == [True] * 5 + [False]
    feeder.gate_text_done("a", total_chars=10, clean=True)
    assert all(_play(ring, 95))
    assert ring.counters().held_ticks == 4


def test_flush_drops_held_audio_and_the_next_item_is_held_again() -> None:
    """A trip flushes everything held; a later item starts held."""
    ring = PlayoutRing(max_hold_ms=5000)
    feeder = PlayoutFeeder(ring, AudioCodec.PCMU, guarded=True)
    feeder.gating = True
    feeder.push("a", b"\x00" * 1600)
    assert feeder.flush() == {}
    feeder.push("b", b"\x00" * 1600)
    assert _play(ring, 2) == [False, False]
    feeder.release_all()
    assert _play(ring, 2) == [True, True]


def test_ungated_audio_plays_at_once() -> None:
    """gating off (no fast guardrails): no hold at all."""
    ring = PlayoutRing()
    feeder = PlayoutFeeder(ring, AudioCodec.PCMU, guarded=True)
    feeder.push("a", b"\x00" * 320)
    assert _play(ring, 2) == [True, True]


async def test_uplink_pump_sends_one_encoded_append_per_tick() -> None:
    """The pump drains every queued frame each tick and encodes once (μ-law: half the bytes)."""
    queue = UplinkQueue()
    sent: list[bytes] = []

    async def send(data: bytes) -> None:
        sent.append(data)

    for _ in range(3):
        queue.put(bytes(320))
    task = asyncio.create_task(pump_uplink(queue, AudioCodec.PCMU, send, frame_ms=10))
    await asyncio.sleep(0.05)
    task.cancel()
    assert sent == [b"\xff" * 480]


async def test_one_ticker_forwards_every_calls_uplink() -> None:
    """Two calls share one ticker: each call's frames go out encoded through its own send;
    a call that left gets nothing more and the ticker's task ends when the last one leaves."""
    ticker = UplinkTicker()
    queues = [UplinkQueue(), UplinkQueue()]
    sent: list[list[bytes]] = [[], []]

    def sender(n: int) -> Any:
        async def send(data: bytes) -> None:
            sent[n].append(data)

        return send

    handles = [ticker.add(q, AudioCodec.PCMU, sender(n)) for n, q in enumerate(queues)]
    queues[0].put(bytes(320))
    queues[1].put(bytes(320))
    await asyncio.sleep(0.05)
    assert sent == [[b"\xff" * 160], [b"\xff" * 160]]
    ticker.remove(handles[0])
    queues[0].put(bytes(320))
    await asyncio.sleep(0.05)
    assert len(sent[0]) == 1
    ticker.remove(handles[1])
    await asyncio.sleep(0.01)
    assert ticker.calls == 0
    assert ticker.running is False
    await ticker.stop()


async def _sent_times(puts: list[float], *, other_thread: bool = False) -> list[float]:
    """Put one frame at each offset (seconds from now) on a ticker whose safety timeout is far
    off; return how long each frame waited for its append."""
    loop = asyncio.get_running_loop()
    queue = UplinkQueue(capacity_ms=2000)
    sent_at: list[float] = []

    async def send(_audio: bytes) -> None:
        sent_at.append(loop.time())

    ticker = UplinkTicker(safety_s=1.0)
    ticker.add(queue, AudioCodec.PCMU, send)
    start = loop.time()
    arrivals: list[float] = []
    for offset in puts:
        await asyncio.sleep(max(0.0, start + offset - loop.time()))
        arrivals.append(loop.time())
        if other_thread:
            put = threading.Thread(target=queue.put, args=(bytes(320),))
            put.start()
            put.join()
        else:
            queue.put(bytes(320))
    await asyncio.sleep(0.05)
    await ticker.stop()
    assert len(sent_at) == len(puts), sent_at
    return [s - a for s, a in zip(sent_at, arrivals, strict=True)]


async def test_a_frame_leaves_as_soon_as_it_is_put() -> None:
    """The doorbell wakes the ticker at the put: no 20 ms grid, no safety timeout (1 s)."""
    waits = await _sent_times([0.013, 0.031, 0.052, 0.070])
    assert max(waits) < 0.015, waits


async def test_a_frame_put_on_another_thread_rings_the_loop() -> None:
    """pjmedia's clock thread puts the frames: the eventfd write reaches the loop."""
    waits = await _sent_times([0.010, 0.030, 0.050], other_thread=True)
    assert max(waits) < 0.015, waits


async def test_one_wakeup_serves_every_call_put_on_the_same_tick() -> None:
    """One clock tick delivers every call's frame: one ring, one drain, one append each."""
    ticker = UplinkTicker(safety_s=1.0)
    queues = [UplinkQueue() for _ in range(3)]
    sent: list[bytes] = []

    async def send(data: bytes) -> None:
        sent.append(data)

    for queue in queues:
        ticker.add(queue, AudioCodec.PCMU, send)
    await asyncio.sleep(0.01)
    wakeups = ticker.wakeups
    for queue in queues:
        queue.put(bytes(320))
    await asyncio.sleep(0.03)
    assert sent == [b"\xff" * 160] * 3
    assert ticker.wakeups == wakeups + 1
    await ticker.stop()


async def test_the_safety_timeout_sends_a_frame_whose_ring_was_lost() -> None:
    """A frame queued before the call joined rang no bell; the safety timeout still sends it."""
    loop = asyncio.get_running_loop()
    queue = UplinkQueue()
    queue.put(bytes(320))
    sent_at: list[float] = []

    async def send(_audio: bytes) -> None:
        sent_at.append(loop.time())

    ticker = UplinkTicker(safety_s=0.03)
    start = loop.time()
    ticker.add(queue, AudioCodec.PCMU, send)
    await asyncio.sleep(0.1)
    await ticker.stop()
    assert len(sent_at) == 1
    assert sent_at[0] - start >= 0.025


async def test_a_stopped_ticker_closes_its_doorbell() -> None:
    """stop() removes the reader and closes the fd; queues no longer ring anything."""
    ticker = UplinkTicker()
    queue = UplinkQueue()

    async def send(_audio: bytes) -> None:
        pass

    ticker.add(queue, AudioCodec.PCMU, send)
    fd = ticker.fileno()
    assert fd is not None
    await ticker.stop()
    assert ticker.fileno() is None
    with pytest.raises(OSError):
        os.fstat(fd)
    queue.put(bytes(320))  # detached: no bell to ring, no error


def test_the_doorbell_rings_once_until_armed_again() -> None:
    """Only the first ring after arm() writes; clear() makes the fd unreadable again."""
    bell = Doorbell()
    try:
        bell.ring()
        bell.ring()
        assert bell.rings == 1
        assert _readable(bell.fileno())
        bell.clear()
        assert not _readable(bell.fileno())
        bell.ring()
        assert bell.rings == 1
        bell.arm()
        bell.ring()
        assert bell.rings == 2
        assert _readable(bell.fileno())
    finally:
        bell.close()


def _readable(fd: int) -> bool:
    return bool(select.select([fd], [], [], 0)[0])
