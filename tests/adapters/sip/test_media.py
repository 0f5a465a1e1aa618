"""Uplink queue and playout ring: the locked buffers between the clock thread and the loop.

Pure Python, no pjsua2: the clock thread is played by the test (or by a real thread).
"""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.adapters.sip.media import FRAME_BYTES, SILENCE, PlayoutRing, UplinkQueue
from gateway.errors import AudioError


def frame(n: int) -> bytes:
    return bytes([n & 0xFF]) * FRAME_BYTES


# --- uplink ----------------------------------------------------------------------------------


def test_uplink_drains_frames_in_order_and_empties() -> None:
    """Frames put by the clock thread come out of drain() oldest first, once."""
    q = UplinkQueue()
    for n in range(3):
        q.put(frame(n))
    assert q.drain() == [frame(0), frame(1), frame(2)]
    assert q.drain() == []
    assert q.drain_bytes() == b""


def test_uplink_drops_oldest_when_full_and_counts() -> None:
    """At capacity (100 ms = 5 frames) a new frame pushes out the oldest; drops are counted."""
    q = UplinkQueue(capacity_ms=100)
    for n in range(8):
        q.put(frame(n))
    assert q.drain() == [frame(n) for n in range(3, 8)]
    counters = q.counters()
    assert (counters.received, counters.dropped, counters.queued) == (8, 3, 0)


def test_uplink_replaces_wrong_sized_frames_with_silence() -> None:
    """An empty or short frame keeps the timeline: it becomes 20 ms of silence, counted."""
    q = UplinkQueue()
    q.put(b"")
    q.put(b"\x01" * 10)
    assert q.drain_bytes() == SILENCE * 2
    assert q.counters().malformed == 2


def test_uplink_rejects_capacity_below_one_frame() -> None:
    """A queue that cannot hold one frame is a configuration mistake."""
    with pytest.raises(ValueError, match="below one frame"):
        UplinkQueue(capacity_ms=10)


def test_uplink_loses_nothing_across_threads() -> None:
    """A producer thread putting 2,000 frames while the consumer drains: all arrive, in order."""
    q = UplinkQueue(capacity_ms=1_000_000)
    total = 2000

    def produce() -> None:
        for n in range(total):
            q.put(n.to_bytes(4, "little") * (FRAME_BYTES // 4))

    worker = threading.Thread(target=produce)
    worker.start()
    got: list[bytes] = []
    deadline = time.monotonic() + 10
    while len(got) < total and time.monotonic() < deadline:
        got += q.drain()
    worker.join()
    assert [int.from_bytes(f[:4], "little") for f in got] == list(range(total))


# --- playout ring ----------------------------------------------------------------------------


def test_ring_plays_in_order_then_silence() -> None:
    """Pushed frames play one per tick in order; a dry ring plays silence."""
    ring = PlayoutRing()
    assert ring.push(frame(1), "a", 160) == 0
    assert ring.push(frame(2), "a", 160) == 1
    assert [ring.next_frame() for _ in range(3)] == [frame(1), frame(2), SILENCE]


def test_ring_counts_played_api_bytes_per_item() -> None:
    """take_played() reports API bytes per item since the last report, then resets."""
    ring = PlayoutRing()
    for item, api_bytes in (("a", 160), ("a", 160), ("b", 960)):
        ring.push(frame(0), item, api_bytes)
    ring.next_frame()
    assert ring.take_played() == {"a": 160}
    ring.next_frame()
    ring.next_frame()
    assert ring.take_played() == {"a": 160, "b": 960}
    assert ring.take_played() == {}


def test_flush_drops_unplayed_and_next_tick_is_silent() -> None:
    """flush() reports what was played and the very next tick plays silence."""
    ring = PlayoutRing()
    for n in range(50):
        ring.push(frame(n), "a", 160)
    ring.next_frame()
    ring.next_frame()
    assert ring.flush() == {"a": 320}
    assert ring.next_frame() == SILENCE
    assert ring.queued_ms == 0
    counters = ring.counters()
    assert (counters.played, counters.flushed, counters.underruns) == (2, 48, 0)


def test_flush_takes_effect_within_one_frame_under_a_running_clock() -> None:
    """With a real 20 ms clock thread, no pushed frame plays after flush() returns."""
    ring = PlayoutRing()
    for _ in range(500):
        ring.push(frame(7), "a", 160)
    played_after: list[bytes] = []
    flushed = threading.Event()
    stop = threading.Event()

    def clock() -> None:
        while not stop.is_set():
            out = ring.next_frame()
            if flushed.is_set():
                played_after.append(out)
            time.sleep(0.002)

    worker = threading.Thread(target=clock)
    worker.start()
    time.sleep(0.05)
    ring.flush()
    flushed.set()
    time.sleep(0.05)
    stop.set()
    worker.join()
    assert played_after
    assert set(played_after) == {SILENCE}


def test_ring_refuses_frames_when_full_and_counts_overflows() -> None:
    """A full ring (60 ms = 3 frames) refuses new frames; queued ones keep playing."""
    ring = PlayoutRing(capacity_ms=60)
    seqs = [ring.push(frame(n), "a", 160) for n in range(5)]
    assert seqs == [0, 1, 2, None, None]
    assert ring.counters().overflows == 2
    assert [ring.next_frame() for _ in range(3)] == [frame(0), frame(1), frame(2)]


def test_push_many_queues_a_delta_in_order_and_overflows_only_the_rest() -> None:
    """A batch gets consecutive sequence numbers; what does not fit is dropped and counted,
    and each queued frame keeps its own API-byte credit for the played counts."""
    ring = PlayoutRing(capacity_ms=100)  # 5 frames
    ring.push(frame(9), "x", 0)
    first, accepted = ring.push_many([frame(n) for n in range(6)], "a", [100, 160, 160, 160, 1, 1])
    assert (first, accepted) == (1, 4)
    assert ring.counters().overflows == 2
    assert ring.push_many([frame(0)], "a", [160]) == (5, 0)  # full: nothing, seq not used
    assert [ring.next_frame() for _ in range(5)] == [frame(n) for n in (9, 0, 1, 2, 3)]
    assert ring.take_played() == {"x": 0, "a": 580}
    assert ring.push(frame(4), "a", 160) == 5
    with pytest.raises(AudioError):
        ring.push_many([frame(1), b"short"], "a", [160, 160])


def test_underruns_count_dry_ticks_only_while_audio_is_expected() -> None:
    """Dry ticks after a push are underruns until end_of_audio(); idle silence is not."""
    ring = PlayoutRing()
    ring.next_frame()
    ring.push(frame(1), "a", 160)
    ring.next_frame()
    ring.next_frame()
    ring.next_frame()
    ring.end_of_audio()
    ring.next_frame()
    counters = ring.counters()
    assert (counters.underruns, counters.silent_ticks) == (2, 4)


def test_release_cursor_holds_later_frames() -> None:
    """Held from 0 and released up to 1, only frames 0 and 1 play; the rest wait, no underruns."""
    ring = PlayoutRing()
    ring.hold_from(0)
    ring.release_upto(1)
    for n in range(4):
        ring.push(frame(n), "a", 160)
    out = [ring.next_frame() for _ in range(3)]
    assert out == [frame(0), frame(1), SILENCE]
    assert ring.counters().underruns == 0
    ring.release_upto(2)
    assert ring.next_frame() == frame(2)
    ring.release_all()
    assert ring.next_frame() == frame(3)
    assert ring.queued_ms == 0


def test_cursor_only_moves_forward_and_not_after_release() -> None:
    """A late, lower release does not hold back what was released; release_all ends holding."""
    ring = PlayoutRing()
    ring.hold_from(0)
    ring.release_upto(3)
    ring.release_upto(1)
    for n in range(5):
        ring.push(frame(n), "a", 160)
    assert [ring.next_frame() for _ in range(4)] == [frame(0), frame(1), frame(2), frame(3)]
    ring.release_all()
    ring.release_upto(0)
    assert ring.next_frame() == frame(4)


def test_max_hold_plays_on_and_counts_an_overrun() -> None:
    """Audio held longer than the maximum hold (60 ms here) plays anyway; it is counted."""
    ring = PlayoutRing(max_hold_ms=60)
    ring.hold_from(0)
    for n in range(3):
        ring.push(frame(n), "a", 160)
    out = [ring.next_frame() for _ in range(6)]
    assert out == [SILENCE, SILENCE, SILENCE, frame(0), frame(1), frame(2)]
    counters = ring.counters()
    assert (counters.held_ticks, counters.hold_overruns, counters.underruns) == (3, 1, 0)


def test_ring_rejects_frames_of_the_wrong_size() -> None:
    """Only exact 320-byte frames enter the ring (the loop's framer makes them)."""
    with pytest.raises(AudioError, match="319 bytes"):
        PlayoutRing().push(b"\x00" * 319, "a", 160)


@settings(max_examples=200)
@given(st.lists(st.sampled_from(["push_a", "push_b", "tick", "flush", "take"]), max_size=200))
def test_played_bytes_are_conserved(ops: list[str]) -> None:
    """Reported played bytes always equal API bytes of the frames that actually played."""
    ring = PlayoutRing(capacity_ms=200)
    sizes = {"a": 160, "b": 960}
    played_truth: dict[str, int] = {}
    reported: dict[str, int] = {}
    queue: list[str] = []
    for op in ops:
        if op.startswith("push"):
            item = op[-1]
            if ring.push(frame(0), item, sizes[item]) is not None:
                queue.append(item)
        elif op == "tick":
            ring.next_frame()
            if queue:
                item = queue.pop(0)
                played_truth[item] = played_truth.get(item, 0) + sizes[item]
        else:
            got = ring.flush() if op == "flush" else ring.take_played()
            if op == "flush":
                queue.clear()
            for item, n in got.items():
                reported[item] = reported.get(item, 0) + n
    for item, n in ring.take_played().items():
        reported[item] = reported.get(item, 0) + n
    assert reported == played_truth
    assert ring.queued_ms == len(queue) * 20


# --- timing: added latency and cut-to-silence ------------------------------------------------


class _Clock:
    """A fake ``time.monotonic`` the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    from gateway.adapters.sip import media

    fake = _Clock()
    monkeypatch.setattr(media, "monotonic", fake)
    return fake


def test_uplink_latency_runs_from_put_to_sent(clock: _Clock) -> None:
    """Each frame's added latency is the time from its put to the append that carried it."""
    from gateway.adapters.sip.media import MediaStats

    stats = MediaStats()
    q = UplinkQueue(stats=stats)
    q.put(frame(1))
    clock.now += 0.020
    q.put(frame(2))
    frames, stamps = q.drain_stamped()
    assert frames == [frame(1), frame(2)]
    q.sent(stamps, clock.now + 0.001)
    assert stats.uplink.count == 2
    assert stats.uplink.total == pytest.approx(0.021 + 0.001)


def test_uplink_overflow_drops_the_oldest_stamp_with_its_frame(clock: _Clock) -> None:
    """A full queue keeps frames and stamps paired: the newest frames with their own times."""
    q = UplinkQueue(capacity_ms=40)
    for n in range(3):
        q.put(frame(n))
        clock.now += 0.020
    frames, stamps = q.drain_stamped()
    assert frames == [frame(1), frame(2)]
    assert stamps == [pytest.approx(100.020), pytest.approx(100.040)]


def test_downlink_latency_skips_waiting_behind_earlier_audio(clock: _Clock) -> None:
    """A burst pushed at once: only the first frame waits for its tick; the others play in
    their own slots, which is the model's schedule, not added latency."""
    from gateway.adapters.sip.media import MediaStats

    stats = MediaStats()
    ring = PlayoutRing(stats=stats)
    for n in range(5):
        ring.push(frame(n), "a", 160)
    for tick in range(5):
        clock.now = 100.007 + tick * 0.020  # the clock ticks 7 ms after the push
        ring.next_frame()
    counts, total = stats.downlink.snapshot()
    assert sum(counts) == 5
    assert total == pytest.approx(0.007)  # the first frame's wait for the tick, nothing else


def test_downlink_latency_counts_a_late_tick(clock: _Clock) -> None:
    """A tick 3 ms late adds 3 ms to the frame it plays."""
    from gateway.adapters.sip.media import MediaStats

    stats = MediaStats()
    ring = PlayoutRing(stats=stats)
    ring.push(frame(1), "a", 160)
    ring.push(frame(2), "a", 160)
    ring.next_frame()  # at 100.0, at once
    clock.now += 0.023
    ring.next_frame()
    assert stats.downlink.total == pytest.approx(0.003)


def test_flush_of_playing_audio_times_the_cut_to_the_next_tick(clock: _Clock) -> None:
    """Barge-in: from the flush to the next frame handed to pjmedia (silence)."""
    from gateway.adapters.sip.media import MediaStats

    stats = MediaStats()
    ring = PlayoutRing(stats=stats)
    for n in range(3):
        ring.push(frame(n), "a", 160)
    ring.next_frame()
    clock.now += 0.005
    ring.flush()
    clock.now += 0.012
    assert ring.next_frame() == SILENCE
    assert stats.cut_to_silence.count == 1
    assert stats.cut_to_silence.total == pytest.approx(0.012)


def test_flush_of_a_silent_ring_is_not_a_cut(clock: _Clock) -> None:
    """Nothing was playing or queued: a flush cuts nothing, so nothing is timed."""
    from gateway.adapters.sip.media import MediaStats

    stats = MediaStats()
    ring = PlayoutRing(stats=stats)
    ring.next_frame()
    ring.flush()
    ring.next_frame()
    assert stats.cut_to_silence.count == 0
