"""Test tones and their analysis: what the call tests use to say "this tone got through"."""

from __future__ import annotations

import pytest

from gateway.adapters.sip.tones import analyse, tone_frames


def test_tone_frames_are_20ms_pcm16_frames() -> None:
    """A 1 s tone is 50 frames of 320 bytes."""
    frames = tone_frames(440, 1000)
    assert len(frames) == 50
    assert {len(f) for f in frames} == {320}


def test_a_clean_tone_is_found_at_its_frequency_only() -> None:
    """440 Hz: share ~1 at 440, ~0 at 600; zero crossings say 440 Hz."""
    report = analyse(b"".join(tone_frames(440, 1000)), (440, 600))
    assert report.share[440] > 0.99
    assert report.share[600] < 0.01
    assert report.zero_cross_hz == pytest.approx(440, rel=0.01)
    assert report.seconds == 1.0
    assert 5600 < report.rms < 5700  # amplitude 8000 / sqrt(2)


def test_a_phase_jump_does_not_spoil_the_median_share() -> None:
    """A dropped frame mid-recording (a phase jump) leaves the block median near 1."""
    frames = tone_frames(440, 1000)
    del frames[23]
    assert analyse(b"".join(frames), (440,)).share[440] > 0.95


def test_silence_and_nothing_report_zero() -> None:
    """Silence has no energy anywhere; an empty recording reports zeros."""
    assert analyse(bytes(1600), (440,)).share[440] == 0.0
    empty = analyse(b"", (440,))
    assert (empty.seconds, empty.rms, empty.share) == (0.0, 0, {440: 0.0})
