"""What the emulated model sounds like: pluggable voices rendering text to PCM16.

A :class:`Voice` turns text into an :class:`Utterance`: PCM16 mono at the requested rate plus
the start time of every word, so transcript deltas can be sent with the audio that speaks
them. Durations follow the text: about :data:`CHARS_PER_SECOND` characters a second (divided
by the session's ``speed``), in whole 20 ms segments, each word followed by a short pause.

Two voices ship:

* :class:`SyntheticVoice` (default): a voice-like signal, harmonics of a 150 or 200 Hz
  fundamental (alternating by word, for intonation) with syllable-rate amplitude modulation;
* :class:`ToneVoice`: every word is one pure tone, word *i* at :func:`tone_hz` (*i*), so a test
  can tell from received audio exactly which words were played (:func:`detect_word_tones`).

The espeak-ng voice (espeak.py, ``voice: espeak``) implements :class:`Voice` too.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Protocol

from gateway.core.audio._audioop import audioop

__all__ = [
    "CHARS_PER_SECOND",
    "SyntheticVoice",
    "ToneVoice",
    "Utterance",
    "Voice",
    "WordMark",
    "detect_word_tones",
    "tone_hz",
    "voice_named",
]

CHARS_PER_SECOND = 14.0
SEGMENT_MS = 20
GAP_MS = 40
SENTENCE_PAUSE_MS = 120
TONE_COUNT = 25


@dataclass(frozen=True, slots=True)
class WordMark:
    """One word as its transcript delta (with its leading space) and where its audio starts."""

    text: str
    start_ms: int


@dataclass(frozen=True, slots=True)
class Utterance:
    pcm: bytes
    sample_rate: int
    words: tuple[WordMark, ...]

    @property
    def duration_ms(self) -> int:
        return len(self.pcm) * 1000 // (2 * self.sample_rate)


class Voice(Protocol):
    """Renders text as speech."""

    def synthesize(self, text: str, sample_rate: int, speed: float = 1.0) -> Utterance: ...


def tone_hz(index: int) -> int:
    """The tone :class:`ToneVoice` uses for word ``index`` (500..2900 Hz, 100 Hz apart)."""
    return 500 + 100 * (index % TONE_COUNT)


def _segments(word: str, speed: float) -> tuple[int, int]:
    """(voiced, total) 20 ms segments for ``word``: its sound, then a pause."""
    voiced = math.ceil((len(word) + 1) / (CHARS_PER_SECOND * speed) * 1000 / SEGMENT_MS)
    pause = GAP_MS + (SENTENCE_PAUSE_MS if word[-1] in ".?!" else 0)
    voiced = max(1, voiced - GAP_MS // SEGMENT_MS)
    return voiced, voiced + pause // SEGMENT_MS


@cache
def _segment(kind: str, hz: int, rate: int) -> bytes:
    """20 ms of a unit waveform (an integer number of cycles, so segments join cleanly)."""
    n = rate * SEGMENT_MS // 1000
    harmonics = range(1, 2) if kind == "tone" else range(1, min(10, rate // (2 * hz)))
    samples = [
        sum(math.sin(2 * math.pi * k * hz * i / rate) / k for k in harmonics) for i in range(n)
    ]
    peak = max(abs(s) for s in samples) or 1.0
    return array("h", (round(12000 * s / peak) for s in samples)).tobytes()


Envelope = Callable[[int, int], float]
"""Gain for segment ``index`` of a word ``count`` segments long."""


def _render(
    text: str, rate: int, speed: float, shape: Callable[[int, str], tuple[bytes, Envelope]]
) -> Utterance:
    silence = b"\x00\x00" * (rate * SEGMENT_MS // 1000)
    pcm = bytearray()
    marks: list[WordMark] = []
    for index, word in enumerate(text.split()):
        marks.append(WordMark(word if index == 0 else f" {word}", len(pcm) * 1000 // (2 * rate)))
        voiced, total = _segments(word, speed)
        segment, envelope = shape(index, word)
        for i in range(voiced):
            pcm += audioop.mul(segment, 2, envelope(i, voiced))
        pcm += silence * (total - voiced)
    return Utterance(bytes(pcm), rate, tuple(marks))


class SyntheticVoice:
    """A voice-like buzz: harmonic-rich fundamental, amplitude following the syllables."""

    def synthesize(self, text: str, sample_rate: int, speed: float = 1.0) -> Utterance:
        def shape(index: int, word: str) -> tuple[bytes, Envelope]:
            syllables = max(1, round(len(word) / 3))

            def envelope(i: int, count: int) -> float:
                position = (i + 0.5) / count * syllables
                return 0.25 + 0.75 * math.sin(math.pi * (position % 1.0))

            return _segment("voice", 150 if index % 2 else 200, sample_rate), envelope

        return _render(text, sample_rate, speed, shape)


class ToneVoice:
    """One steady tone per word: word ``i`` is :func:`tone_hz` (``i``)."""

    def synthesize(self, text: str, sample_rate: int, speed: float = 1.0) -> Utterance:
        def shape(index: int, word: str) -> tuple[bytes, Envelope]:
            return _segment("tone", tone_hz(index), sample_rate), lambda i, count: 1.0

        return _render(text, sample_rate, speed, shape)


def voice_named(name: str) -> Voice:
    """The built-in voice a scenario names (``synthetic``, ``tones`` or ``espeak``)."""
    if name == "espeak":
        from gateway.emulator.espeak import EspeakVoice  # noqa: PLC0415  (needs espeak-ng)

        return EspeakVoice()
    voices: dict[str, Callable[[], Voice]] = {"synthetic": SyntheticVoice, "tones": ToneVoice}
    return voices[name]()


def detect_word_tones(pcm: bytes, rate: int) -> list[int]:
    """The word indices (mod 25) a :class:`ToneVoice` rendering holds, in order.

    Works on any PCM16 mono at ``rate`` (also after a G.711 round trip): each 20 ms segment
    with energy is classified by its zero-crossing rate to the nearest tone; a word is a run of
    segments with the same tone, and words are separated by silence.
    """
    size = rate * SEGMENT_MS // 1000 * 2
    found: list[int] = []
    previous: int | None = None
    for offset in range(0, len(pcm) - size + 1, size):
        segment = pcm[offset : offset + size]
        if audioop.rms(segment, 2) < 500:
            previous = None
            continue
        hz = audioop.cross(segment, 2) * 1000 / (2 * SEGMENT_MS)
        index = min(range(TONE_COUNT), key=lambda i: abs(tone_hz(i) - hz))
        if index != previous:
            found.append(index)
        previous = index
    return found
