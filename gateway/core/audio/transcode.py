"""Per-call transcoding between the phone side and the Realtime API side, chosen once at setup.

The phone side of the gateway is always 16-bit linear PCM at 8 kHz (what pjmedia's conference
bridge hands a media port). The API side is the session's codec: μ-law or A-law pass through
G.711 companding only; PCM16 needs 8 <-> 24 kHz resampling.
"""

from __future__ import annotations

from collections.abc import Callable

from gateway.core.audio.codec import AudioCodec
from gateway.core.audio.g711 import alaw_to_pcm16, pcm16_to_alaw, pcm16_to_ulaw, ulaw_to_pcm16
from gateway.core.audio.resample import Resampler

__all__ = ["PHONE_RATE", "Transcode", "downlink_decoder", "uplink_encoder"]

PHONE_RATE = 8000
Transcode = Callable[[bytes], bytes]


def uplink_encoder(api_codec: AudioCodec) -> Transcode:
    """A function PCM16 8 kHz (caller) -> ``api_codec`` bytes, stateful for PCM16."""
    if api_codec is AudioCodec.PCMU:
        return pcm16_to_ulaw
    if api_codec is AudioCodec.PCMA:
        return pcm16_to_alaw
    return Resampler(PHONE_RATE, api_codec.sample_rate).process


def downlink_decoder(api_codec: AudioCodec) -> Transcode:
    """A function ``api_codec`` bytes (model audio) -> PCM16 8 kHz, stateful for PCM16."""
    if api_codec is AudioCodec.PCMU:
        return ulaw_to_pcm16
    if api_codec is AudioCodec.PCMA:
        return alaw_to_pcm16
    return Resampler(api_codec.sample_rate, PHONE_RATE).process
