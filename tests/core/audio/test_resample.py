"""The stateful 8 <-> 24 kHz resampler and the per-call transcoders built on it."""

from __future__ import annotations

import itertools
import math
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.core.audio import (
    AudioCodec,
    Resampler,
    alaw_to_pcm16,
    downlink_decoder,
    pcm16_to_alaw,
    pcm16_to_ulaw,
    ulaw_to_pcm16,
    uplink_encoder,
)
from gateway.errors import AudioError


def _tone(freq: float, rate: int, ms: int, amplitude: int = 8000) -> bytes:
    n = rate * ms // 1000
    return struct.pack(
        f"<{n}h", *(int(amplitude * math.sin(2 * math.pi * freq * i / rate)) for i in range(n))
    )


def _crossings(pcm: bytes) -> int:
    s = struct.unpack(f"<{len(pcm) // 2}h", pcm)
    return sum(1 for a, b in itertools.pairwise(s) if (a < 0) != (b < 0))


def test_upsampling_triples_the_sample_count() -> None:
    """8 kHz 20 ms frames (320 B) become 960 B at 24 kHz; the very first is two samples short.

    audioop.ratecv interpolates between samples, so its output lags by the interpolation
    distance; the framer downstream re-chunks, so only the steady rate matters.
    """
    up = Resampler(8000, 24000)
    sizes = [len(up.process(bytes(320))) for _ in range(50)]
    assert sizes[0] == 956
    assert set(sizes[1:]) == {960}


def test_downsampling_divides_the_sample_count_by_three() -> None:
    """960 B of 24 kHz becomes 320 B of 8 kHz, frame after frame."""
    down = Resampler(24000, 8000)
    assert all(len(down.process(bytes(960))) == 320 for _ in range(50))


def test_a_tone_keeps_its_frequency_through_up_and_down() -> None:
    """A 440 Hz tone still crosses zero ~880 times a second after 8k -> 24k -> 8k."""
    tone = _tone(440, 8000, 1000)
    up, down = Resampler(8000, 24000), Resampler(24000, 8000)
    back = b"".join(down.process(up.process(tone[i : i + 320])) for i in range(0, len(tone), 320))
    assert len(back) == len(tone)
    assert abs(_crossings(back) - _crossings(tone)) <= 2


@given(st.lists(st.integers(1, 400), min_size=1, max_size=20))
def test_chunking_does_not_change_the_output(sizes: list[int]) -> None:
    """Feeding a stream in arbitrary even-sized chunks equals feeding it whole (state carries)."""
    stream = _tone(300, 8000, 200)
    whole = Resampler(8000, 24000).process(stream)
    pieces, pos, chunked = Resampler(8000, 24000), 0, b""
    for size in sizes:
        chunked += pieces.process(stream[pos : pos + 2 * size])
        pos += 2 * size
    chunked += pieces.process(stream[pos:])
    assert chunked == whole


def test_reset_starts_a_new_stream() -> None:
    """After reset the resampler behaves like a fresh one."""
    used, fresh = Resampler(8000, 24000), Resampler(8000, 24000)
    used.process(_tone(1000, 8000, 20))
    used.reset()
    frame = _tone(500, 8000, 20)
    assert used.process(frame) == fresh.process(frame)


def test_bad_input_is_a_gateway_error() -> None:
    """Odd-length PCM and non-positive rates raise AudioError."""
    with pytest.raises(AudioError):
        Resampler(8000, 24000).process(b"\x00")
    with pytest.raises(AudioError):
        Resampler(0, 8000)


@pytest.mark.parametrize("codec", list(AudioCodec))
def test_transcoders_map_phone_frames_to_api_frames(codec: AudioCodec) -> None:
    """A 20 ms phone frame becomes one 20 ms API frame and back, for every session codec."""
    encode, decode = uplink_encoder(codec), downlink_decoder(codec)
    frame = _tone(400, 8000, 20)
    api = [encode(frame) for _ in range(5)]
    assert {len(a) for a in api[1:]} == {codec.frame_bytes}
    assert abs(len(api[0]) - codec.frame_bytes) <= 4
    assert {len(decode(a)) for a in api[1:]} == {320}


def test_g711_transcoding_is_companding_only() -> None:
    """With G.711 on the API side, the transcoders are the stateless G.711 functions."""
    assert uplink_encoder(AudioCodec.PCMU) is pcm16_to_ulaw
    assert downlink_decoder(AudioCodec.PCMU) is ulaw_to_pcm16
    assert uplink_encoder(AudioCodec.PCMA) is pcm16_to_alaw
    assert downlink_decoder(AudioCodec.PCMA) is alaw_to_pcm16
