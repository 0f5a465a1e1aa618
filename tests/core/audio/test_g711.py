"""G.711 companding, checked against an independent implementation of the ITU-T formulas."""

from __future__ import annotations

import itertools
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.core.audio import (
    alaw_to_pcm16,
    pcm16_to_alaw,
    pcm16_to_ulaw,
    ulaw_to_pcm16,
)
from gateway.errors import AudioError


def _ulaw_expand(code: int) -> int:
    """ITU-T G.711 μ-law decoding (the classic Sun reference algorithm), 16-bit output."""
    code = ~code & 0xFF
    sign, exponent, mantissa = code & 0x80, (code >> 4) & 0x07, code & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return -magnitude if sign else magnitude


def _alaw_expand(code: int) -> int:
    """ITU-T G.711 A-law decoding (the classic Sun reference algorithm), 16-bit output."""
    code ^= 0x55
    sign, exponent, mantissa = code & 0x80, (code >> 4) & 0x07, code & 0x0F
    magnitude = (
        (mantissa << 4) + 8 if exponent == 0 else ((mantissa << 4) + 0x108) << (exponent - 1)
    )
    return magnitude if sign else -magnitude


def _samples(pcm: bytes) -> tuple[int, ...]:
    return struct.unpack(f"<{len(pcm) // 2}h", pcm)


def test_ulaw_decoding_matches_the_reference_for_all_codes() -> None:
    """Every one of the 256 μ-law codes decodes to the reference value."""
    assert _samples(ulaw_to_pcm16(bytes(range(256)))) == tuple(_ulaw_expand(c) for c in range(256))


def test_alaw_decoding_matches_the_reference_for_all_codes() -> None:
    """Every one of the 256 A-law codes decodes to the reference value."""
    assert _samples(alaw_to_pcm16(bytes(range(256)))) == tuple(_alaw_expand(c) for c in range(256))


def test_silence_encodes_to_the_codec_silence_byte() -> None:
    """Digital silence is 0xFF in μ-law and 0xD5 in A-law."""
    zeros = bytes(320)
    assert pcm16_to_ulaw(zeros) == b"\xff" * 160
    assert pcm16_to_alaw(zeros) == b"\xd5" * 160


def _step(value: int, table: list[int]) -> int:
    """Quantisation step of the G.711 segment that ``value`` falls in."""
    above = [abs(a - b) for a, b in itertools.pairwise(table) if min(a, b) <= value <= max(a, b)]
    return max(above) if above else 1 << 13


_ULAW_LEVELS = sorted(_ulaw_expand(c) for c in range(256))
_ALAW_LEVELS = sorted(_alaw_expand(c) for c in range(256))

pcm_samples = st.lists(st.integers(-32768, 32767), min_size=1, max_size=400)


@given(pcm_samples)
def test_ulaw_round_trip_stays_within_one_quantisation_step(samples: list[int]) -> None:
    """PCM -> μ-law -> PCM never moves a sample by more than its segment's step size."""
    pcm = struct.pack(f"<{len(samples)}h", *samples)
    back = _samples(ulaw_to_pcm16(pcm16_to_ulaw(pcm)))
    for original, decoded in zip(samples, back, strict=True):
        assert abs(original - decoded) <= _step(original, _ULAW_LEVELS)


@given(pcm_samples)
def test_alaw_round_trip_stays_within_one_quantisation_step(samples: list[int]) -> None:
    """PCM -> A-law -> PCM never moves a sample by more than its segment's step size."""
    pcm = struct.pack(f"<{len(samples)}h", *samples)
    back = _samples(alaw_to_pcm16(pcm16_to_alaw(pcm)))
    for original, decoded in zip(samples, back, strict=True):
        assert abs(original - decoded) <= _step(original, _ALAW_LEVELS)


@given(st.binary(min_size=1, max_size=400))
def test_code_round_trip_is_identity_for_ulaw(codes: bytes) -> None:
    """Decoding then re-encoding μ-law gives the same bytes (0x7F/0xFF both mean zero)."""
    again = pcm16_to_ulaw(ulaw_to_pcm16(codes))
    assert again == codes.replace(b"\x7f", b"\xff")


@pytest.mark.parametrize("encode", [pcm16_to_ulaw, pcm16_to_alaw])
def test_odd_length_pcm_is_refused(encode: object) -> None:
    """PCM16 with an odd byte count is not audio: a clear AudioError, not audioop.error."""
    with pytest.raises(AudioError, match="odd length 3"):
        encode(b"\x00\x01\x02")  # type: ignore[operator]
