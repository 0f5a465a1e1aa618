"""Filtered resampling, the noise floor and cutting a recording at pauses."""

from __future__ import annotations

import math
from array import array

from gateway.core.audio._audioop import audioop
from gateway.emulator.dsp import add_noise_floor, lowpass, resample, split_on_pauses


def _tone(hz: float, rate: int, ms: int, level: int = 10000) -> bytes:
    n = rate * ms // 1000
    return array(
        "h", (round(level * math.sin(2 * math.pi * hz * i / rate)) for i in range(n))
    ).tobytes()


def test_lowpass_keeps_the_voice_band_and_removes_what_is_above_it() -> None:
    """A 500 Hz tone passes (within 1 dB); a 6 kHz tone is cut by more than 30 dB."""
    low, high = _tone(500, 22050, 200), _tone(6000, 22050, 200)
    assert audioop.rms(lowpass(low, 22050, 3600), 2) > 0.89 * audioop.rms(low, 2)
    assert audioop.rms(lowpass(high, 22050, 3600), 2) < 0.03 * audioop.rms(high, 2)


def test_resampling_down_does_not_alias() -> None:
    """espeak-ng's 22.05 kHz to 8 kHz: the right length, and 6 kHz does not fold to 2 kHz."""
    out = resample(_tone(6000, 22050, 500), 22050, 8000)
    assert abs(len(out) // 2 - 4000) <= 2
    assert audioop.rms(out, 2) < 300
    assert resample(b"", 8000, 16000) == b"" and resample(b"\x01\x00", 8000, 8000) == b"\x01\x00"


def test_noise_floor_has_the_asked_level_and_is_reproducible() -> None:
    """White noise of RMS ~300 is mixed in, the same each time."""
    silence = bytes(2 * 16000)
    noisy = add_noise_floor(silence, 16000, 300)
    assert 270 < audioop.rms(noisy, 2) < 330
    assert noisy == add_noise_floor(silence, 16000, 300)


def test_a_recording_is_cut_into_utterances_at_pauses() -> None:
    """Two bursts a second apart are two utterances, each padded, with their start times."""
    quiet = bytes(2 * 8000)
    pcm = quiet + _tone(400, 8000, 500) + quiet + _tone(400, 8000, 300) + quiet
    found = split_on_pauses(pcm, 8000, pause_ms=700, pad_ms=200)
    assert [start for start, _ in found] == [800, 2300]
    assert [len(chunk) // 16 for _, chunk in found] == [900, 700]
