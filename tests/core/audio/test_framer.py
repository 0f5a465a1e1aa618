"""The 20 ms framer: any chunking in, exact frames out, bytes conserved."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.core.audio import AudioCodec, Framer
from gateway.errors import AudioError


@given(
    st.sampled_from(list(AudioCodec)),
    st.lists(st.binary(min_size=0, max_size=2500), max_size=30),
)
def test_framer_conserves_bytes_and_emits_exact_frames(
    codec: AudioCodec, chunks: list[bytes]
) -> None:
    """Whatever the chunk sizes, frames are exact and frames + unpadded tail == input."""
    framer = Framer.for_codec(codec)
    out: list[bytes] = []
    for chunk in chunks:
        out += framer.push(chunk)
    pending = framer.pending
    tail = framer.flush()
    assert all(len(f) == codec.frame_bytes for f in out)
    data = b"".join(chunks)
    assert b"".join(out) + (tail[:pending] if tail else b"") == data
    if tail is not None:
        assert len(tail) == codec.frame_bytes
        assert set(tail[pending:]) <= {codec.silence_byte}
    assert framer.pending == 0


def test_flush_pads_with_the_codec_silence() -> None:
    """A 50-byte μ-law tail is padded with 110 bytes of 0xFF."""
    framer = Framer.for_codec(AudioCodec.PCMU)
    assert framer.push(b"\x01" * 50) == []
    assert framer.flush() == b"\x01" * 50 + b"\xff" * 110
    assert framer.flush() is None


def test_exact_frames_pass_straight_through() -> None:
    """A chunk that is exactly one frame is returned as is, with nothing held."""
    framer = Framer(160, 0xFF)
    frame = bytes(range(160))
    assert framer.push(frame) == [frame]
    assert framer.pending == 0


def test_clear_drops_the_tail() -> None:
    """clear() discards held bytes (barge-in) and reports how many."""
    framer = Framer(960)
    framer.push(b"\x00" * 1000)
    assert framer.clear() == 40
    assert framer.flush() is None


def test_frame_size_must_be_positive() -> None:
    """A zero frame size is a programming error reported as AudioError."""
    with pytest.raises(AudioError):
        Framer(0)
