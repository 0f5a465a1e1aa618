"""The audio codecs voicegw speaks, and the one place outside spellings are mapped to them.

Inside the gateway a codec is always an :class:`AudioCodec`. Every spelling that arrives from
outside (Realtime GA format objects, beta strings, SDP rtpmap names, RTP payload types, YAML)
goes through :func:`parse_codec` once, at the edge.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from typing import Any

from gateway.errors import UnknownCodecError

__all__ = ["FRAME_MS", "AudioCodec", "parse_codec"]

FRAME_MS = 20
"""Telephony frame duration used everywhere in the gateway."""


class AudioCodec(enum.Enum):
    """An audio encoding with its fixed sample rate.

    The value is the Realtime API GA format ``type``.
    """

    PCMU = "audio/pcmu"
    PCMA = "audio/pcma"
    PCM16 = "audio/pcm"

    @property
    def sample_rate(self) -> int:
        return 24000 if self is AudioCodec.PCM16 else 8000

    @property
    def bytes_per_ms(self) -> int:
        """Bytes of this encoding per millisecond of audio (8 for G.711, 48 for PCM16 24 kHz)."""
        return 48 if self is AudioCodec.PCM16 else 8

    @property
    def frame_bytes(self) -> int:
        """Bytes in one 20 ms frame (160 for G.711, 960 for PCM16 24 kHz)."""
        return self.bytes_per_ms * FRAME_MS

    @property
    def silence_byte(self) -> int:
        """The byte value that encodes silence (μ-law 0xFF, A-law 0xD5, PCM16 0x00)."""
        return _SILENCE[self]

    @property
    def sdp_name(self) -> str:
        """The rtpmap encoding name (``PCMU/8000``)."""
        return _SDP_NAME[self]

    def to_realtime_format(self) -> dict[str, Any]:
        """The Realtime API GA ``audio.*.format`` object for this codec."""
        if self is AudioCodec.PCM16:
            return {"type": "audio/pcm", "rate": 24000}
        return {"type": self.value}

    def ms_for(self, nbytes: int) -> int:
        """Whole milliseconds of audio in ``nbytes`` of this encoding (floored)."""
        return nbytes // self.bytes_per_ms


_SILENCE = {AudioCodec.PCMU: 0xFF, AudioCodec.PCMA: 0xD5, AudioCodec.PCM16: 0x00}
_SDP_NAME = {
    AudioCodec.PCMU: "PCMU/8000",
    AudioCodec.PCMA: "PCMA/8000",
    AudioCodec.PCM16: "L16/24000",
}

_SPELLINGS: dict[str, AudioCodec] = {
    # Realtime GA format types, beta strings, common names
    "audio/pcmu": AudioCodec.PCMU,
    "g711_ulaw": AudioCodec.PCMU,
    "pcmu": AudioCodec.PCMU,
    "ulaw": AudioCodec.PCMU,
    "mulaw": AudioCodec.PCMU,
    "mu-law": AudioCodec.PCMU,
    "μ-law": AudioCodec.PCMU,
    "g711u": AudioCodec.PCMU,
    "audio/pcma": AudioCodec.PCMA,
    "g711_alaw": AudioCodec.PCMA,
    "pcma": AudioCodec.PCMA,
    "alaw": AudioCodec.PCMA,
    "a-law": AudioCodec.PCMA,
    "g711a": AudioCodec.PCMA,
    "audio/pcm": AudioCodec.PCM16,
    "pcm16": AudioCodec.PCM16,
    "pcm": AudioCodec.PCM16,
    "l16": AudioCodec.PCM16,
}
# Static RTP payload types (RFC 3551)
_PAYLOAD_TYPES = {0: AudioCodec.PCMU, 8: AudioCodec.PCMA}
# SDP rtpmap "NAME/rate[/channels]"
_RTPMAP = re.compile(r"^(?P<name>[A-Za-z0-9_-]+)/(?P<rate>\d+)(?:/(?P<ch>\d+))?$")


def parse_codec(spelling: str | int | Mapping[str, Any]) -> AudioCodec:
    """Map any outside spelling of a codec to an :class:`AudioCodec`.

    Accepts GA format objects (``{"type": "audio/pcm", "rate": 24000}``), GA type strings
    (``audio/pcmu``), beta strings (``g711_ulaw``), SDP rtpmap names (``PCMU/8000``), static RTP
    payload types (``0``, ``8``) and common names (``ulaw``). Raises
    :class:`UnknownCodecError` for anything else, including a PCM rate other than 24 kHz.
    """
    if isinstance(spelling, bool):
        raise UnknownCodecError(f"unknown codec {spelling!r}")
    if isinstance(spelling, int):
        return _from_payload_type(spelling)
    if isinstance(spelling, Mapping):
        return _from_format_object(spelling)
    text = spelling.strip()
    found = _SPELLINGS.get(text.lower())
    if found is not None:
        return found
    if text.isdigit():
        return _from_payload_type(int(text))
    match = _RTPMAP.match(text)
    if match is not None:
        return _from_rtpmap(match["name"], int(match["rate"]), match["ch"], text)
    raise UnknownCodecError(f"unknown codec {spelling!r}")


def _from_payload_type(pt: int) -> AudioCodec:
    try:
        return _PAYLOAD_TYPES[pt]
    except KeyError:
        raise UnknownCodecError(f"unknown RTP payload type {pt}") from None


def _from_format_object(obj: Mapping[str, Any]) -> AudioCodec:
    kind = obj.get("type")
    if not isinstance(kind, str):
        raise UnknownCodecError(f"audio format object has no type: {dict(obj)!r}")
    codec = parse_codec(kind)
    rate = obj.get("rate", codec.sample_rate)
    if rate != codec.sample_rate:
        raise UnknownCodecError(f"{kind} at {rate} Hz is not supported (only {codec.sample_rate})")
    return codec


def _from_rtpmap(name: str, rate: int, channels: str | None, text: str) -> AudioCodec:
    codec = _SPELLINGS.get(name.lower())
    if codec is None or rate != codec.sample_rate or channels not in (None, "1"):
        raise UnknownCodecError(f"unknown codec {text!r}")
    return codec
