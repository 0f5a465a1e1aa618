"""AudioCodec and the one function that maps outside spellings to it."""

from __future__ import annotations

import pytest

from gateway.core.audio import AudioCodec, parse_codec
from gateway.errors import GatewayError, UnknownCodecError


@pytest.mark.parametrize(
    ("spelling", "codec"),
    [
        ("audio/pcmu", AudioCodec.PCMU),
        ("g711_ulaw", AudioCodec.PCMU),
        ("PCMU/8000", AudioCodec.PCMU),
        ("PCMU/8000/1", AudioCodec.PCMU),
        ("ulaw", AudioCodec.PCMU),
        ("μ-law", AudioCodec.PCMU),
        (0, AudioCodec.PCMU),
        ("0", AudioCodec.PCMU),
        ({"type": "audio/pcmu"}, AudioCodec.PCMU),
        ("audio/pcma", AudioCodec.PCMA),
        ("g711_alaw", AudioCodec.PCMA),
        ("pcma/8000", AudioCodec.PCMA),
        (8, AudioCodec.PCMA),
        ("audio/pcm", AudioCodec.PCM16),
        ("pcm16", AudioCodec.PCM16),
        ({"type": "audio/pcm", "rate": 24000}, AudioCodec.PCM16),
        ({"type": "audio/pcm"}, AudioCodec.PCM16),
        ("L16/24000", AudioCodec.PCM16),
        (" Audio/PCMU ", AudioCodec.PCMU),
    ],
)
def test_every_outside_spelling_maps_to_one_codec(spelling: object, codec: AudioCodec) -> None:
    """GA objects, beta strings, SDP rtpmap names and payload types all normalise."""
    assert parse_codec(spelling) is codec  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "spelling",
    [
        "opus",
        "PCMU/16000",
        "PCMU/8000/2",
        "L16/8000",
        {"type": "audio/pcm", "rate": 16000},
        {"rate": 8000},
        18,
        True,
        "",
    ],
)
def test_unknown_spellings_raise_a_gateway_error(spelling: object) -> None:
    """Anything not supported by the Realtime API or G.711 is refused with a clear error."""
    with pytest.raises(UnknownCodecError) as info:
        parse_codec(spelling)  # type: ignore[arg-type]
    assert isinstance(info.value, GatewayError)
    assert info.value.sip_status == 488


def test_codec_sizes_follow_the_protocol_brief() -> None:
    """8 bytes/ms and 160-byte frames for G.711; 48 bytes/ms and 960-byte frames for PCM16."""
    assert (AudioCodec.PCMU.bytes_per_ms, AudioCodec.PCMU.frame_bytes) == (8, 160)
    assert (AudioCodec.PCMA.bytes_per_ms, AudioCodec.PCMA.frame_bytes) == (8, 160)
    assert (AudioCodec.PCM16.bytes_per_ms, AudioCodec.PCM16.frame_bytes) == (48, 960)
    assert AudioCodec.PCMU.ms_for(1601) == 200
    assert AudioCodec.PCM16.ms_for(959) == 19


def test_realtime_format_objects_are_ga_shaped() -> None:
    """The GA audio format object round-trips through parse_codec."""
    assert AudioCodec.PCM16.to_realtime_format() == {"type": "audio/pcm", "rate": 24000}
    assert AudioCodec.PCMA.to_realtime_format() == {"type": "audio/pcma"}
    for codec in AudioCodec:
        assert parse_codec(codec.to_realtime_format()) is codec
        assert parse_codec(codec.sdp_name) is codec


def test_silence_bytes() -> None:
    """Silence is 0xFF in μ-law, 0xD5 in A-law and zero in PCM16."""
    assert [c.silence_byte for c in AudioCodec] == [0xFF, 0xD5, 0x00]
