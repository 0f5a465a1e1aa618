"""PlayoutFeeder: model audio into exact frames in the ring, and guarded playout's gate."""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.adapters.sip.media import SILENCE, PlayoutRing, UplinkQueue
from gateway.app.media_bridge import PlayoutFeeder, pump_uplink
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
    a call that left gets nothing more and the ticker stops when empty."""
    from gateway.app.media_bridge import UplinkTicker

    ticker = UplinkTicker(frame_ms=10)
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
    await asyncio.sleep(0.05)
    assert ticker.calls == 0
    await ticker.stop()


async def test_ticker_locks_onto_the_frames_arrival() -> None:
    """The shared ticker wakes just after the newest frame it sent plus one period, so a
    frame put by the clock thread waits about the lag, not up to a whole period."""
    from gateway.app.media_bridge import UplinkTicker

    loop = asyncio.get_running_loop()
    queue = UplinkQueue(capacity_ms=1000)
    sent_at: list[float] = []

    async def send(_audio: bytes) -> None:
        sent_at.append(loop.time())

    ticker = UplinkTicker(frame_ms=40, lag_s=0.004)
    ticker.add(queue, AudioCodec.PCMU, send)
    arrivals = []
    start = loop.time() + 0.013  # off the ticker's own 40 ms grid
    for n in range(6):
        await asyncio.sleep(max(0.0, start + n * 0.040 - loop.time()))
        queue.put(b"\x00" * 320)
        arrivals.append(loop.time())
    await asyncio.sleep(0.060)
    await ticker.stop()
    waits = [min(s - a for s in sent_at if s >= a) for a in arrivals[2:]]
    assert max(waits) < 0.015, waits  # locked: ~lag + timer slack; unlocked it would be 27 ms


async def test_ticker_looks_again_when_a_frame_is_late() -> None:
    """A clock tick 6 ms late: instead of leaving that frame a whole period behind, the ticker
    looks again shortly and sends it within a few ms of its arrival."""
    from gateway.app.media_bridge import UplinkTicker

    loop = asyncio.get_running_loop()
    queue = UplinkQueue(capacity_ms=1000)
    sent_at: list[float] = []

    async def send(_audio: bytes) -> None:
        sent_at.append(loop.time())

    ticker = UplinkTicker(frame_ms=40, lag_s=0.002, retry_s=0.004)
    ticker.add(queue, AudioCodec.PCMU, send)
    start = loop.time() + 0.013
    arrivals = []
    for n in range(5):
        late = 0.006 if n == 3 else 0.0
        await asyncio.sleep(max(0.0, start + n * 0.040 + late - loop.time()))
        queue.put(b"\x00" * 320)
        arrivals.append(loop.time())
    await asyncio.sleep(0.060)
    await ticker.stop()
    wait = min(s - arrivals[3] for s in sent_at if s >= arrivals[3])
    assert wait < 0.015, wait  # without the second look it would be ~36 ms
