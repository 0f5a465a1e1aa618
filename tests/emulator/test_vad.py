"""EnergyVad: frame-exact starts and stops on the input timeline, threshold as a level."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.emulator.vad import EnergyVad, SpeechStarted, SpeechStopped, level_dbfs
from tests.emulator.client import silence, tone


def test_threshold_maps_linearly_to_dbfs() -> None:
    """0 -> -70 dBFS, 0.5 -> -45 dBFS, 1 -> -20 dBFS."""
    assert (level_dbfs(0.0), level_dbfs(0.5), level_dbfs(1.0)) == (-70.0, -45.0, -20.0)


def test_start_at_onset_and_stop_after_the_silence() -> None:
    """Tone 250..650 ms with 300 ms silence: start at 250, stop at 950 (650 + 300)."""
    vad = EnergyVad(8000, 0.5, 300, position_ms=0)
    found = vad.feed(silence(250) + tone(400) + silence(400))
    assert found == [SpeechStarted(250), SpeechStopped(950)]
    assert not vad.speaking


def test_a_click_shorter_than_min_speech_is_ignored() -> None:
    """10 ms of sound is not speech."""
    vad = EnergyVad(8000, 0.5, 200, position_ms=0)
    assert vad.feed(silence(100) + tone(10) + silence(500)) == []


def test_short_pauses_do_not_end_speech() -> None:
    """A pause shorter than silence_duration_ms keeps one turn."""
    vad = EnergyVad(24000, 0.5, 300, position_ms=1000)
    found = vad.feed(tone(200, rate=24000) + silence(200, 24000) + tone(200, rate=24000))
    found += vad.feed(silence(400, 24000))
    assert found == [SpeechStarted(1000), SpeechStopped(1900)]


@given(st.lists(st.integers(min_value=1, max_value=700), min_size=1, max_size=30))
def test_chunking_does_not_change_what_is_found(sizes: list[int]) -> None:
    """Feeding the same audio in any chunk sizes finds the same events."""
    audio = silence(120) + tone(330) + silence(600) + tone(90) + silence(500)
    whole = EnergyVad(8000, 0.5, 400, position_ms=0).feed(audio)
    vad = EnergyVad(8000, 0.5, 400, position_ms=0)
    found, offset = [], 0
    for size in sizes * (len(audio) // sum(sizes) + 1):
        found += vad.feed(audio[offset : offset + size * 2])
        offset += size * 2
    assert (
        found
        == whole
        == [
            SpeechStarted(120),
            SpeechStopped(850),
            SpeechStarted(1050),
            SpeechStopped(1540),
        ]
    )
