"""The emulator's mouth: espeak-ng speech, with the time each word starts.

Uses the library of the Debian ``espeak-ng`` package (``libespeak-ng.so.1``) through ctypes, in
its synchronous mode: ``espeak_Synth`` calls back with 22.05 kHz PCM16 and *word events* (the
word's character position and its audio position in ms), so each transcript delta goes out
with the audio that speaks it.
Formant synthesis is fast: a sentence renders in a few milliseconds, far faster than real
time. The speech is band-limited and resampled to the session's rate (8 kHz for G.711,
24 kHz for ``audio/pcm``).

The library keeps global state (voice, rate, callback), so renders are serialised by a lock.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from functools import cache
from typing import Any

from gateway.emulator.dsp import resample
from gateway.emulator.voice import Utterance, WordMark
from gateway.errors import AudioError

__all__ = ["EspeakVoice"]

_LIBRARY = "libespeak-ng.so.1"
_SYNCHRONOUS = 2  # AUDIO_OUTPUT_SYNCHRONOUS
_DONT_EXIT = 0x8000  # espeakINITIALIZE_DONT_EXIT: report errors instead of exiting
_RATE = 1  # espeakRATE, words per minute
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_EVENT_END_OF_LIST = 0
_EVENT_WORD = 1
DEFAULT_WPM = 165
TAIL_MS = 200
"""Silence after the last word, so the next sentence does not run into it."""


class _Event(ctypes.Structure):
    _fields_ = (  # espeak_EVENT in speak_lib.h
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),
    )


_Callback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


class _Engine:
    """The process's one espeak-ng instance."""

    def __init__(self) -> None:
        path = ctypes.util.find_library("espeak-ng") or _LIBRARY
        try:
            self._lib: Any = ctypes.CDLL(path)
        except OSError:
            raise AudioError("espeak-ng is not installed (apt-get install espeak-ng)") from None
        self.rate = int(self._lib.espeak_Initialize(_SYNCHRONOUS, 0, None, _DONT_EXIT))
        if self.rate <= 0:
            raise AudioError("espeak-ng failed to initialise (is espeak-ng-data installed?)")
        self._pcm = bytearray()
        self._words: list[tuple[int, int]] = []
        self._callback = _Callback(self._collect)  # kept referenced while the library holds it
        self._lib.espeak_SetSynthCallback(self._callback)
        self.lock = threading.Lock()

    def _collect(self, wav: Any, samples: int, events: Any) -> int:
        if samples > 0:
            self._pcm += ctypes.string_at(wav, samples * 2)
        index = 0
        while events[index].type != _EVENT_END_OF_LIST:
            event = events[index]
            if event.type == _EVENT_WORD:
                self._words.append((event.text_position - 1, event.audio_position))
            index += 1
        return 0

    def render(self, text: str, voice: str, wpm: int) -> tuple[bytes, list[tuple[int, int]]]:
        """22.05 kHz PCM16 and ``(character offset, ms)`` of each word event."""
        if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise AudioError(f"espeak-ng has no voice {voice!r}")
        self._lib.espeak_SetParameter(_RATE, wpm, 0)
        self._pcm, self._words = bytearray(), []
        data = text.encode()
        self._lib.espeak_Synth(data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        self._lib.espeak_Synchronize()
        return bytes(self._pcm), self._words


@cache
def _engine() -> _Engine:
    return _Engine()


class EspeakVoice:
    """A :class:`~gateway.emulator.voice.Voice` speaking with espeak-ng."""

    __slots__ = ("voice", "wpm")

    def __init__(self, voice: str = "en-us", wpm: int = DEFAULT_WPM) -> None:
        self.voice = voice
        self.wpm = wpm

    def synthesize(self, text: str, sample_rate: int, speed: float = 1.0) -> Utterance:
        engine = _engine()
        with engine.lock:
            pcm, events = engine.render(text, self.voice, round(self.wpm * speed))
        pcm = resample(pcm, engine.rate, sample_rate) + bytes(2 * sample_rate * TAIL_MS // 1000)
        return Utterance(pcm, sample_rate, _marks(text, events))


def _marks(text: str, events: list[tuple[int, int]]) -> tuple[WordMark, ...]:
    """Each whitespace-separated word of ``text`` with the time it starts.

    A word starts at the first word event inside it; a word espeak-ng reported no event for
    (it merges some) starts where the previous one did, so times never go backwards.
    """
    marks: list[WordMark] = []
    position, start_ms = 0, 0
    for index, word in enumerate(text.split()):
        begin = text.index(word, position)
        position = begin + len(word)
        inside = [ms for offset, ms in events if begin <= offset < position]
        start_ms = max(start_ms, min(inside, default=start_ms))
        marks.append(WordMark(word if index == 0 else f" {word}", start_ms))
    return tuple(marks)
