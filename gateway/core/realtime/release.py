"""Guarded playout: which queued frames of the agent's audio may be played yet (sans-I/O).

The model sends audio faster than real time, so an answer's audio waits in the playout ring
before the caller hears it. The ring only plays frames up to a *release cursor*; this gate
moves the cursor as the transcript text covering that audio passes the fast guardrails.

Mapping text to audio, per assistant item:

* while the item streams: the clean text (``safe_chars``) covers ``safe_chars / rate`` ms of
  audio, where ``rate`` is a deliberately high speaking rate in characters per ms (default
  20 characters/s, or 1.25x the rate measured on this call's finished items), so a lagging
  transcript never releases audio it has not covered;
* once both the transcript and the audio are done, the proportion is exact:
  ``safe_chars / total_chars`` of the item's audio;
* once the transcript is done and clean: the whole item.

Items whose text is not checked (``gated=False``) are released at once. The ring enforces the
maximum hold (it plays on if the gate stalls for too long) and counts it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ReleaseGate"]

DEFAULT_CHARS_PER_S = 20.0
SAFETY = 1.25
MIN_LEARN_CHARS = 20
"""Items shorter than this ("Hi.") say little about the voice's speaking rate."""


@dataclass(slots=True)
class _Item:
    first_seq: int
    frames: int = 0
    frame_ms: int = 20
    safe_chars: int = 0
    total_chars: int = 0
    text_done: bool = False
    audio_done: bool = False
    clean: bool = True


class ReleaseGate:
    """Per call: computes the ring's release cursor from transcript and audio progress."""

    __slots__ = ("_chars_per_ms", "_items", "_learned", "frame_ms")

    def __init__(self, frame_ms: int = 20, chars_per_s: float = DEFAULT_CHARS_PER_S) -> None:
        self.frame_ms = frame_ms
        self._chars_per_ms = chars_per_s / 1000
        self._learned: list[float] = []
        self._items: dict[str, _Item] = {}

    def on_frames(self, item_id: str, first_seq: int, count: int) -> int | None:
        """``count`` frames of ``item_id`` were queued starting at ``first_seq`` (the item's
        first frames open it). Returns the new cursor, or None if it does not move."""
        item = self._items.get(item_id)
        if item is None:
            item = self._items[item_id] = _Item(first_seq, frame_ms=self.frame_ms)
        item.frames += count
        return self._cursor(item)

    def on_text(self, item_id: str, safe_chars: int, total_chars: int) -> int | None:
        """The item's transcript so far is ``total_chars`` long, clean up to ``safe_chars``."""
        item = self._items.get(item_id)
        if item is None:
            return None
        item.safe_chars, item.total_chars = safe_chars, total_chars
        return self._cursor(item)

    def on_text_done(self, item_id: str, total_chars: int, clean: bool) -> int | None:
        item = self._items.get(item_id)
        if item is None:
            return None
        item.text_done, item.total_chars, item.clean = True, total_chars, clean
        if clean:
            item.safe_chars = total_chars
        self._learn(item)
        return self._cursor(item)

    def on_audio_done(self, item_id: str) -> int | None:
        item = self._items.get(item_id)
        if item is None:
            return None
        item.audio_done = True
        self._learn(item)
        return self._cursor(item)

    def _learn(self, item: _Item) -> None:
        """Once an item's text and audio are both complete, note its speaking rate."""
        if item.text_done and item.audio_done and item.total_chars >= MIN_LEARN_CHARS:
            self._learned.append(item.total_chars / (item.frames * item.frame_ms))

    def forget(self, item_id: str) -> None:
        self._items.pop(item_id, None)

    def clear(self) -> None:
        """Forget every item (the ring was flushed); what was learned about the rate stays."""
        self._items.clear()

    def released_frames(self, item_id: str) -> int:
        """How many of the item's queued frames may play now."""
        item = self._items.get(item_id)
        return self._released(item) if item is not None else 0

    def _rate(self) -> float:
        if self._learned:
            return max(self._learned[-5:]) * SAFETY
        return self._chars_per_ms

    def _released(self, item: _Item) -> int:
        if item.text_done and item.clean:
            return item.frames
        if item.text_done and item.audio_done and item.total_chars:
            return item.frames * item.safe_chars // item.total_chars
        covered_ms = item.safe_chars / self._rate()
        return min(item.frames, int(covered_ms // item.frame_ms))

    def _cursor(self, item: _Item) -> int | None:
        released = self._released(item)
        return item.first_seq + released - 1 if released else None
