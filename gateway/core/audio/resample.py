"""A stateful PCM16 mono resampler (audioop.ratecv), for 8 kHz <-> 24 kHz telephony bridging."""

from __future__ import annotations

from typing import Any

from gateway.core.audio._audioop import audioop
from gateway.errors import AudioError

__all__ = ["Resampler"]


class Resampler:
    """Converts a stream of PCM16 mono chunks from one rate to another.

    State carries across calls, so chunk boundaries leave no clicks: feeding a stream in pieces
    gives the same output as feeding it whole.
    """

    __slots__ = ("_in_rate", "_out_rate", "_state")

    def __init__(self, in_rate: int, out_rate: int) -> None:
        if in_rate <= 0 or out_rate <= 0:
            raise AudioError(f"sample rates must be positive, got {in_rate} -> {out_rate}")
        self._in_rate = in_rate
        self._out_rate = out_rate
        self._state: Any = None

    def process(self, pcm: bytes) -> bytes:
        """Resample one chunk; raises :class:`AudioError` on an odd byte count."""
        try:
            out, self._state = audioop.ratecv(pcm, 2, 1, self._in_rate, self._out_rate, self._state)
        except audioop.error:
            raise AudioError(f"pcm16 audio has odd length {len(pcm)}") from None
        return out

    def reset(self) -> None:
        """Forget the stream so far (after a flush, the next chunk starts a new stream)."""
        self._state = None
