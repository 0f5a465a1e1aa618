"""Voices: duration follows the text, words are timed, tones are decodable."""

from __future__ import annotations

import pytest

from gateway.core.audio import pcm16_to_ulaw, ulaw_to_pcm16
from gateway.core.audio._audioop import audioop
from gateway.emulator.voice import (
    CHARS_PER_SECOND,
    SyntheticVoice,
    ToneVoice,
    detect_word_tones,
    tone_hz,
    voice_named,
)

TEXT = "Your card number is 4111 1111 1111 1111, is that right?"


@pytest.mark.parametrize("rate", [8000, 24000])
def test_duration_is_about_fourteen_characters_a_second(rate: int) -> None:
    """Speech lasts roughly len(text) / 14 s, in whole 20 ms segments, at the asked rate."""
    utterance = SyntheticVoice().synthesize(TEXT, rate)
    assert utterance.sample_rate == rate
    assert len(utterance.pcm) % (2 * rate // 50) == 0
    expected = len(TEXT) / CHARS_PER_SECOND * 1000
    assert 0.9 * expected < utterance.duration_ms < 1.4 * expected


def test_speed_shortens_speech() -> None:
    """Session speed 1.5 speaks faster than 1.0."""
    normal = SyntheticVoice().synthesize(TEXT, 8000).duration_ms
    assert SyntheticVoice().synthesize(TEXT, 8000, speed=1.5).duration_ms < normal * 0.8


def test_words_are_timed_in_order_with_leading_spaces() -> None:
    """Word marks rebuild the text and start inside the audio, in increasing order."""
    utterance = SyntheticVoice().synthesize(TEXT, 8000)
    assert "".join(w.text for w in utterance.words) == TEXT
    starts = [w.start_ms for w in utterance.words]
    assert starts == sorted(starts) and starts[0] == 0 and starts[-1] < utterance.duration_ms


def test_the_synthetic_voice_sounds_like_speech_not_a_tone() -> None:
    """Voice-band energy that rises and falls (syllables), with pauses between words."""
    pcm = SyntheticVoice().synthesize("hello there caller", 8000).pcm
    frames = [audioop.rms(pcm[i : i + 320], 2) for i in range(0, len(pcm), 320)]
    assert max(frames) > 3000 and min(frames) == 0
    assert len({round(f, -2) for f in frames if f}) > 3


def test_tone_words_survive_a_g711_round_trip() -> None:
    """Each word of the tone voice is decoded back, in order, from μ-law audio."""
    utterance = ToneVoice().synthesize(TEXT, 8000)
    heard = detect_word_tones(ulaw_to_pcm16(pcm16_to_ulaw(utterance.pcm)), 8000)
    assert heard == list(range(len(TEXT.split())))
    assert tone_hz(0) == 500 and tone_hz(24) == 2900 and tone_hz(25) == 500


def test_tone_words_tell_how_much_was_played() -> None:
    """Cutting the audio after word 3 leaves words 0..3 detectable."""
    utterance = ToneVoice().synthesize(TEXT, 24000)
    cut_ms = utterance.words[4].start_ms
    played = utterance.pcm[: cut_ms * 48]
    assert detect_word_tones(played, 24000) == [0, 1, 2, 3]


def test_voices_by_name() -> None:
    """Scenarios name the built-in voices."""
    assert isinstance(voice_named("tones"), ToneVoice)
    assert isinstance(voice_named("synthetic"), SyntheticVoice)
