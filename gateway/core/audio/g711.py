"""G.711 μ-law and A-law, to and from 16-bit little-endian linear PCM (audioop)."""

from __future__ import annotations

from gateway.core.audio._audioop import audioop
from gateway.errors import AudioError

__all__ = ["alaw_to_pcm16", "pcm16_to_alaw", "pcm16_to_ulaw", "ulaw_to_pcm16"]


def ulaw_to_pcm16(data: bytes) -> bytes:
    """Decode μ-law bytes to PCM16 (two bytes out per byte in)."""
    return audioop.ulaw2lin(data, 2)


def alaw_to_pcm16(data: bytes) -> bytes:
    """Decode A-law bytes to PCM16 (two bytes out per byte in)."""
    return audioop.alaw2lin(data, 2)


def pcm16_to_ulaw(pcm: bytes) -> bytes:
    """Encode PCM16 to μ-law; raises :class:`AudioError` on an odd byte count."""
    try:
        return audioop.lin2ulaw(pcm, 2)
    except audioop.error:
        raise AudioError(f"pcm16 audio has odd length {len(pcm)}") from None


def pcm16_to_alaw(pcm: bytes) -> bytes:
    """Encode PCM16 to A-law; raises :class:`AudioError` on an odd byte count."""
    try:
        return audioop.lin2alaw(pcm, 2)
    except audioop.error:
        raise AudioError(f"pcm16 audio has odd length {len(pcm)}") from None
