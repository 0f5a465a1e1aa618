"""Audio core: codecs, resampling, 20 ms framing and playout accounting (sans-I/O)."""

from gateway.core.audio.codec import FRAME_MS, AudioCodec, parse_codec
from gateway.core.audio.framer import Framer
from gateway.core.audio.g711 import alaw_to_pcm16, pcm16_to_alaw, pcm16_to_ulaw, ulaw_to_pcm16
from gateway.core.audio.ledger import ItemPlayout, PlayoutLedger, TruncatePoint
from gateway.core.audio.resample import Resampler
from gateway.core.audio.transcode import PHONE_RATE, downlink_decoder, uplink_encoder

__all__ = [
    "FRAME_MS",
    "PHONE_RATE",
    "AudioCodec",
    "Framer",
    "ItemPlayout",
    "PlayoutLedger",
    "Resampler",
    "TruncatePoint",
    "alaw_to_pcm16",
    "downlink_decoder",
    "parse_codec",
    "pcm16_to_alaw",
    "pcm16_to_ulaw",
    "ulaw_to_pcm16",
    "uplink_encoder",
]
