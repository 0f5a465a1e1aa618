"""The two buffers between pjmedia's clock thread and the asyncio loop, one pair per call.

Both sides are plain Python guarded by one ``threading.Lock`` each; nothing here imports
pjsua2 or asyncio, so both are tested without either. The clock-thread methods (``put``,
``next_frame``) answer at once and never block on the loop; the loop-side methods take the lock
only to swap or clear containers.

**Uplink** (caller -> model): :class:`UplinkQueue`. ``onFrameReceived`` puts each 20 ms PCM16
8 kHz frame; when full the oldest frame is dropped and counted (real time beats completeness).
After the put it calls the bell the loop attached (a non-blocking eventfd write, at most one per
clock tick for all calls: :mod:`gateway.adapters.sip.doorbell`), never the loop itself; a
``call_soon_threadsafe`` per frame costs 4-8 µs against 0.45 µs for ``put``
(docs/pjsua2-notes.md).

**Downlink** (model -> caller): :class:`PlayoutRing`. The loop pushes exact 20 ms frames, each
tagged with its assistant ``item_id`` and the API-codec bytes it stands for; ``onFrameRequested``
pops one per tick (silence when dry) and credits the item with those bytes, so barge-in can
truncate the item at what was really handed to the caller. ``flush()`` drops everything unplayed
under the lock, so the very next tick is silence. An optional release cursor holds frames
beyond a sequence number until the loop releases them.

**Timing** (:class:`MediaStats`, one per process unless a buffer is given its own): each frame
is stamped with ``time.monotonic()`` where it enters a buffer, so the gateway's own added
latency is measured per direction without touching the frames' path:

* uplink: frame put by the clock thread -> its append sent to the model (:meth:`UplinkQueue.sent`);
* downlink: frame pushed (model audio received) -> frame pulled by the clock thread, counted
  from the moment it could first have played: not before it arrived, and not before the
  previous frame's 20 ms were over (waiting behind earlier audio is the model's faster than
  real-time schedule, not delay). A frame that starts a talk spurt waits for the next clock
  tick (0-20 ms); a frame held by guarded playout counts its hold;
* cut to silence: :meth:`PlayoutRing.flush` of playing audio (barge-in, guardrail) -> the next
  frame handed to pjmedia, which sends it on the same tick.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from time import monotonic

from gateway.core.audio.codec import FRAME_MS
from gateway.core.latency import LatencyHistogram
from gateway.errors import AudioError

__all__ = [
    "FRAME_BYTES",
    "PROCESS_MEDIA_STATS",
    "SILENCE",
    "MediaStats",
    "PlayoutCounters",
    "PlayoutRing",
    "UplinkCounters",
    "UplinkQueue",
]

FRAME_BYTES = 320
"""20 ms of 16-bit mono PCM at 8 kHz: the only frame either buffer holds."""
SILENCE = bytes(FRAME_BYTES)
_FRAME_S = FRAME_MS / 1000


@dataclass(slots=True)
class MediaStats:
    """Added latency per direction and cut-to-silence times, over every call that shares it."""

    uplink: LatencyHistogram = field(default_factory=LatencyHistogram)
    """Frame from pjmedia -> its append sent (loop thread writes)."""
    downlink: LatencyHistogram = field(default_factory=LatencyHistogram)
    """Model audio received -> frame pulled by pjmedia, beyond its earliest slot (clock thread)."""
    cut_to_silence: LatencyHistogram = field(default_factory=LatencyHistogram)
    """Flush of playing audio -> next frame handed to pjmedia (clock thread)."""


PROCESS_MEDIA_STATS = MediaStats()
"""The process's stats: every buffer created without its own feeds these (metrics read them)."""


@dataclass(frozen=True, slots=True)
class UplinkCounters:
    """What the uplink queue has seen since the call started."""

    received: int
    dropped: int
    malformed: int
    queued: int


class UplinkQueue:
    """Bounded, locked FIFO of caller frames: clock thread ``put``, loop ``drain``."""

    __slots__ = (
        "_bell",
        "_capacity",
        "_dropped",
        "_frames",
        "_latency",
        "_lock",
        "_malformed",
        "_received",
        "_stamps",
    )

    def __init__(self, capacity_ms: int = 2000, stats: MediaStats | None = None) -> None:
        if capacity_ms < FRAME_MS:
            raise ValueError(f"uplink capacity {capacity_ms} ms is below one frame")
        self._capacity = capacity_ms // FRAME_MS
        self._frames: deque[bytes] = deque()
        self._stamps: deque[float] = deque()
        self._latency = (stats or PROCESS_MEDIA_STATS).uplink
        self._lock = threading.Lock()
        self._received = 0
        self._dropped = 0
        self._malformed = 0
        self._bell: Callable[[], None] | None = None

    def attach(self, bell: Callable[[], None] | None) -> None:
        """Loop: call ``bell`` (from the clock thread, non-blocking) after each frame is put."""
        self._bell = bell

    def put(self, frame: bytes) -> None:
        """Clock thread: add one frame; a frame of the wrong size is replaced by silence."""
        if len(frame) != FRAME_BYTES:
            self._malformed += 1
            frame = SILENCE
        now = monotonic()
        with self._lock:
            self._received += 1
            if len(self._frames) >= self._capacity:
                self._frames.popleft()
                self._stamps.popleft()
                self._dropped += 1
            self._frames.append(frame)
            self._stamps.append(now)
        bell = self._bell
        if bell is not None:
            bell()

    def drain(self) -> list[bytes]:
        """Loop: every queued frame, oldest first (possibly none)."""
        return self.drain_stamped()[0]

    def drain_bytes(self) -> bytes:
        """Loop: every queued frame joined into one PCM16 chunk (``b""`` when empty)."""
        return b"".join(self.drain())

    def drain_stamped(self) -> tuple[list[bytes], list[float]]:
        """Loop: every queued frame, and when each arrived (``time.monotonic()``)."""
        with self._lock:
            if not self._frames:
                return [], []
            frames, stamps = list(self._frames), list(self._stamps)
            self._frames.clear()
            self._stamps.clear()
        return frames, stamps

    def sent(self, stamps: list[float], now: float) -> None:
        """Loop: the frames stamped ``stamps`` reached the model at ``now`` (added latency)."""
        add = self._latency.add
        for stamp in stamps:
            add(now - stamp)

    @property
    def queued(self) -> int:
        """Frames waiting to be drained."""
        return len(self._frames)

    def counters(self) -> UplinkCounters:
        with self._lock:
            return UplinkCounters(self._received, self._dropped, self._malformed, len(self._frames))


@dataclass(frozen=True, slots=True)
class PlayoutCounters:
    """What the playout ring has done since the call started."""

    pushed: int
    played: int
    overflows: int
    """Frames refused by :meth:`PlayoutRing.push` because the ring was full."""
    underruns: int
    """Ticks that found the ring dry while audio was still expected (a gap in speech)."""
    silent_ticks: int
    """Every tick that played silence: dry, held by the release cursor, or idle."""
    flushed: int
    """Frames dropped unplayed by :meth:`PlayoutRing.flush`."""
    queued: int
    held_ticks: int = 0
    """Ticks that played silence because the next frame was held by the release cursor."""
    hold_overruns: int = 0
    """Times the cursor held audio past the maximum hold, so the ring played on regardless."""


class PlayoutRing:
    """Bounded, locked playout queue of 20 ms frames with per-item played-bytes accounting.

    Loop side: :meth:`push`, :meth:`end_of_audio`, :meth:`flush`, :meth:`take_played`,
    :meth:`release_upto`, :meth:`release_all`. Clock thread: :meth:`next_frame`.

    Every pushed frame gets a sequence number (counting from 0 for the call). When a release
    cursor is set, only frames with ``seq <= cursor`` may play; later ones wait, and the ticks
    they wait are silent but not underruns.
    """

    __slots__ = (
        "_capacity",
        "_cursor",
        "_cut_at",
        "_expecting",
        "_flushed",
        "_frames",
        "_held",
        "_held_run",
        "_last_play",
        "_lock",
        "_max_hold",
        "_next_seq",
        "_overflows",
        "_overruns",
        "_played",
        "_played_frames",
        "_pushed",
        "_silent",
        "_stats",
        "_underruns",
    )

    def __init__(
        self, capacity_ms: int = 60_000, max_hold_ms: int = 300, stats: MediaStats | None = None
    ) -> None:
        if capacity_ms < FRAME_MS:
            raise ValueError(f"playout capacity {capacity_ms} ms is below one frame")
        self._max_hold = max(1, max_hold_ms // FRAME_MS)
        self._held = self._held_run = self._overruns = 0
        self._capacity = capacity_ms // FRAME_MS
        self._frames: deque[tuple[int, bytes, str, int, float]] = deque()
        self._lock = threading.Lock()
        self._played: dict[str, int] = {}
        self._next_seq = 0
        self._cursor: int | None = None
        self._expecting = False
        self._pushed = self._played_frames = self._overflows = 0
        self._underruns = self._silent = self._flushed = 0
        self._stats = stats or PROCESS_MEDIA_STATS
        self._last_play: float | None = None
        """When the previous tick played a frame (None: it played silence)."""
        self._cut_at: float | None = None

    # --- loop side ---------------------------------------------------------------------------

    def push(self, frame: bytes, item_id: str, api_bytes: int) -> int | None:
        """Queue one 320-byte frame of ``item_id`` standing for ``api_bytes`` of API audio.

        Returns the frame's sequence number, or None when the ring is full (the frame is
        dropped and counted as an overflow; frames already queued keep playing).
        """
        first, accepted = self.push_many([frame], item_id, [api_bytes])
        return first if accepted else None

    def push_many(self, frames: list[bytes], item_id: str, api_bytes: list[int]) -> tuple[int, int]:
        """Queue consecutive frames of ``item_id`` under one lock (a model delta is many).

        ``api_bytes[i]`` is what ``frames[i]`` stands for. Returns the first frame's sequence
        number and how many were queued: when the ring fills up, the rest are dropped and
        counted as overflows (frames already queued keep playing).
        """
        for frame in frames:
            if len(frame) != FRAME_BYTES:
                raise AudioError(f"playout frame has {len(frame)} bytes, expected {FRAME_BYTES}")
        now = monotonic()
        with self._lock:
            first = seq = self._next_seq
            room = self._capacity - len(self._frames)
            accepted = min(len(frames), max(0, room))
            append = self._frames.append
            for frame, credit in zip(frames[:accepted], api_bytes, strict=False):
                append((seq, frame, item_id, credit, now))
                seq += 1
            self._next_seq = seq
            self._pushed += accepted
            self._overflows += len(frames) - accepted
            if accepted:
                self._expecting = True
            return first, accepted

    def end_of_audio(self) -> None:
        """No more audio is expected for now: running dry from here on is not an underrun."""
        with self._lock:
            self._expecting = False

    def flush(self) -> dict[str, int]:
        """Drop every unplayed frame (the next tick is silent); report played bytes per item.

        Returns the API bytes played per item since the last report, as :meth:`take_played`.
        """
        with self._lock:
            if self._frames or self._last_play is not None:
                self._cut_at = monotonic()
            self._flushed += len(self._frames)
            self._frames.clear()
            self._expecting = False
            played, self._played = self._played, {}
        return played

    def take_played(self) -> dict[str, int]:
        """API bytes played per item since the last report (``flush`` or ``take_played``)."""
        with self._lock:
            played, self._played = self._played, {}
        return played

    def set_max_hold_ms(self, max_hold_ms: int) -> None:
        """How long the release cursor may hold the next frame before the ring plays on."""
        self._max_hold = max(1, max_hold_ms // FRAME_MS)

    def hold_from(self, seq: int) -> None:
        """Hold frames from ``seq`` on until released (guarded playout arms this per item)."""
        with self._lock:
            self._cursor = seq - 1
            self._held_run = 0

    def release_upto(self, seq: int) -> None:
        """Let frames up to and including ``seq`` play; later frames wait for a new release.

        The cursor only moves forward, and not at all once released (``release_all`` or a
        hold overrun): a late release must not hold back audio that is already playing on.
        """
        with self._lock:
            if self._cursor is not None and seq > self._cursor:
                self._cursor = seq

    def release_all(self) -> None:
        """Remove the release cursor: every queued frame may play."""
        with self._lock:
            self._cursor = None

    @property
    def queued_ms(self) -> int:
        """Audio waiting to play, in ms (including frames held by the release cursor)."""
        return len(self._frames) * FRAME_MS

    @property
    def next_seq(self) -> int:
        """The sequence number the next pushed frame will get."""
        return self._next_seq

    def counters(self) -> PlayoutCounters:
        with self._lock:
            return PlayoutCounters(
                pushed=self._pushed,
                played=self._played_frames,
                overflows=self._overflows,
                underruns=self._underruns,
                silent_ticks=self._silent,
                held_ticks=self._held,
                hold_overruns=self._overruns,
                flushed=self._flushed,
                queued=len(self._frames),
            )

    # --- clock thread ------------------------------------------------------------------------

    def next_frame(self) -> bytes:
        """Clock thread: the frame to play now, or silence when dry or held.

        A frame held longer than the maximum hold is played anyway (latency stays bounded;
        the guardrails' normal trip path still applies) and the cursor is dropped.
        """
        with self._lock:
            if self._cut_at is not None:
                self._stats.cut_to_silence.add(monotonic() - self._cut_at)
                self._cut_at = None
            frames = self._frames
            if frames and self._cursor is not None and frames[0][0] > self._cursor:
                self._held_run += 1
                if self._held_run <= self._max_hold:
                    self._held += 1
                    self._silent += 1
                    self._last_play = None
                    return SILENCE
                self._overruns += 1
                self._cursor = None
            if frames:
                self._held_run = 0
                _, frame, item_id, api_bytes, pushed_at = frames.popleft()
                played = self._played
                played[item_id] = played.get(item_id, 0) + api_bytes
                self._played_frames += 1
                self._note_played(pushed_at)
                return frame
            self._silent += 1
            self._last_play = None
            if self._expecting:
                self._underruns += 1
            return SILENCE

    def _note_played(self, pushed_at: float) -> None:
        """Clock thread, lock held: the added latency of the frame pushed at ``pushed_at``."""
        now = monotonic()
        last = self._last_play
        ready = pushed_at if last is None else max(pushed_at, last + _FRAME_S)
        self._stats.downlink.add(max(0.0, now - ready))
        self._last_play = now
