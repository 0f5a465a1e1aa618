"""The emulator's ears: pocketsphinx listening for a scenario's phrases.

pocketsphinx (PyPI, with its US English acoustic model and dictionary inside the wheel) runs
offline and fast. Free-form, with its general language model, it mishears synthetic speech
badly; constrained to a grammar of what callers may say it is reliable. Its acoustic model is
16 kHz, and its feature front end cannot run at 8 kHz with that model, so telephone audio is
prepared the way measurements here showed works (see ``bench/asr.py``):

1. upsampled to 16 kHz by plain interpolation (``audioop.ratecv``), *without* removing the
   spectral images above 4 kHz: the model expects energy up there (fricatives), and the
   images recognised better than a filtered, empty upper band (24 kHz audio is low-passed
   before it is brought down);
2. given a white-noise floor (RMS 300, about -41 dBFS): the model never saw digital silence,
   and without the floor whole utterances fail to match the grammar;
3. decoded against a JSGF grammar built from the scenario's phrases (see phrases.py).

The words come back in written form (digit runs as numbers). A grammar always yields one of
its phrases or nothing, so an utterance outside them is heard as the nearest phrase or as "".
With no phrases it listens free-form, with the model's general language model.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

import pocketsphinx  # type: ignore[import-untyped]  # no type hints in the package

from gateway.core.audio._audioop import audioop
from gateway.emulator.dsp import add_noise_floor, resample, split_on_pauses
from gateway.emulator.phrases import jsgf, phrase_words, written

__all__ = ["MODEL_RATE", "SphinxRecognizer", "listen"]

MODEL_RATE = 16000
NOISE_RMS = 300.0
_SEARCH = "phrases"


class SphinxRecognizer:
    """A :class:`~gateway.emulator.recognizer.Recognizer` limited to ``phrases``.

    Decoders are shared between recognisers with the same phrases (each call decodes one utterance
    start to end, so sessions on one event loop can share one).
    """

    __slots__ = ("_decoder", "missing_words")

    def __init__(self, phrases: Iterable[str]) -> None:
        self._decoder, missing = _decoder(tuple(phrases))
        self.missing_words: frozenset[str] = missing
        """Phrase words the dictionary lacks: the grammar skips them."""

    def transcribe(self, pcm16: bytes, rate: int) -> str:
        """The phrase heard in ``pcm16`` (mono PCM16 at ``rate``), in written form."""
        return written(self.words(pcm16, rate))

    def words(self, pcm16: bytes, rate: int) -> str:
        """The phrase heard, as recognised words ("one zero zero one"); "" for none."""
        if len(pcm16) < 2:
            return ""
        audio = add_noise_floor(_to_model_rate(pcm16, rate), MODEL_RATE, NOISE_RMS)
        decoder = self._decoder
        decoder.start_utt()
        decoder.process_raw(audio, full_utt=True)
        decoder.end_utt()
        hypothesis = decoder.hyp()
        return str(hypothesis.hypstr) if hypothesis is not None else ""


def listen(
    pcm16: bytes, rate: int, recognizer: SphinxRecognizer, *, pause_ms: int = 700
) -> list[tuple[int, str]]:
    """What a recording says, utterance by utterance: ``(start_ms, words)``."""
    return [
        (start, recognizer.words(chunk, rate))
        for start, chunk in split_on_pauses(pcm16, rate, pause_ms=pause_ms)
    ]


def _to_model_rate(pcm16: bytes, rate: int) -> bytes:
    if rate < MODEL_RATE:
        return bytes(audioop.ratecv(pcm16, 2, 1, rate, MODEL_RATE, None)[0])
    return resample(pcm16, rate, MODEL_RATE)


@cache
def _decoder(phrases: Sequence[str]) -> tuple[Any, frozenset[str]]:
    if not phrases:  # free-form, with the general language model: poor on synthetic speech
        return pocketsphinx.Decoder(samprate=MODEL_RATE, loglevel="FATAL"), frozenset()
    decoder = pocketsphinx.Decoder(samprate=MODEL_RATE, lm=None, loglevel="FATAL")
    words = set().union(*(phrase_words(p) for p in phrases))
    known = {w for w in words if decoder.lookup_word(w) is not None}
    decoder.add_jsgf_string(_SEARCH, jsgf(phrases, keep=known))
    decoder.activate_search(_SEARCH)
    return decoder, frozenset(words - known)
