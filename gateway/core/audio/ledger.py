"""Playout accounting per assistant item, for barge-in truncation.

The Realtime API must be told, in ``conversation.item.truncate.audio_end_ms``, how much of an
assistant item the caller actually heard. That position is on the item's own audio timeline and
must never exceed the audio received for the item (the server rejects it). The ledger counts,
per item, bytes received from the model and bytes handed to the caller, in the API's codec, and
answers with ``floor(played_bytes / bytes_per_ms)`` (8 for G.711, 48 for PCM16 24 kHz).
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.core.audio.codec import AudioCodec

__all__ = ["ItemPlayout", "PlayoutLedger", "TruncatePoint"]


@dataclass(slots=True)
class ItemPlayout:
    """Counters for one assistant item's audio content part."""

    item_id: str
    content_index: int
    received_bytes: int = 0
    played_bytes: int = 0
    complete: bool = False
    """No more audio will arrive for this item (``response.output_audio.done`` seen)."""


@dataclass(frozen=True, slots=True)
class TruncatePoint:
    """Where to truncate an item: the fields of ``conversation.item.truncate``."""

    item_id: str
    content_index: int
    audio_end_ms: int


class PlayoutLedger:
    """Bytes received and played per assistant item, in the API codec's bytes."""

    __slots__ = ("_bytes_per_ms", "_items")

    def __init__(self, codec: AudioCodec) -> None:
        self._bytes_per_ms = codec.bytes_per_ms
        self._items: dict[str, ItemPlayout] = {}

    def item(self, item_id: str) -> ItemPlayout | None:
        return self._items.get(item_id)

    def on_received(self, item_id: str, content_index: int, nbytes: int) -> None:
        """Record ``nbytes`` of model audio received for ``item_id``."""
        entry = self._items.get(item_id)
        if entry is None:
            entry = self._items[item_id] = ItemPlayout(item_id, content_index)
        entry.received_bytes += nbytes

    def on_played(self, item_id: str, nbytes: int) -> int:
        """Record ``nbytes`` handed to the caller; returns the bytes counted (clamped)."""
        entry = self._items.get(item_id)
        if entry is None:
            return 0
        counted = min(nbytes, entry.received_bytes - entry.played_bytes)
        entry.played_bytes += max(counted, 0)
        return max(counted, 0)

    def on_complete(self, item_id: str) -> None:
        """No more audio will arrive for ``item_id``."""
        entry = self._items.get(item_id)
        if entry is not None:
            entry.complete = True

    def received_ms(self, item_id: str) -> int:
        entry = self._items.get(item_id)
        return entry.received_bytes // self._bytes_per_ms if entry else 0

    def played_ms(self, item_id: str) -> int:
        """Whole ms of ``item_id`` the caller heard, never more than was received."""
        entry = self._items.get(item_id)
        if entry is None:
            return 0
        return min(entry.played_bytes, entry.received_bytes) // self._bytes_per_ms

    def fully_played(self, item_id: str) -> bool:
        entry = self._items.get(item_id)
        return entry is not None and entry.complete and entry.played_bytes >= entry.received_bytes

    def truncate_point(self, item_id: str) -> TruncatePoint | None:
        """Where to truncate ``item_id`` on barge-in, or None when no truncate is due.

        None when the item has no audio yet (the server refuses a truncate of an item without
        audio) or was fully played (a spurious truncate changes model behaviour).
        """
        entry = self._items.get(item_id)
        if entry is None or entry.received_bytes == 0 or self.fully_played(item_id):
            return None
        return TruncatePoint(item_id, entry.content_index, self.played_ms(item_id))

    def unplayed_bytes(self, item_id: str) -> int:
        entry = self._items.get(item_id)
        return entry.received_bytes - entry.played_bytes if entry else 0

    def forget(self, item_id: str) -> None:
        self._items.pop(item_id, None)

    def __len__(self) -> int:
        return len(self._items)
