"""How the emulated model "hears" caller audio: a pluggable speech recogniser.

A :class:`Recognizer` gets the committed caller audio as PCM16 mono at its rate (8 kHz for
G.711 sessions, 24 kHz for ``audio/pcm``) and returns the words. The default,
:class:`ScriptedRecognizer`, ignores the audio and returns the scenario's
``caller_transcripts`` one per audio turn, in order, so tests can drive a whole conversation
with tone bursts standing in for speech. ``recognizer: pocketsphinx`` in a scenario really
listens, for the scenario's ``phrases`` (sphinx.py); :func:`recognizer_for` picks.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from gateway.emulator.scenario import Scenario

__all__ = ["Recognizer", "ScriptedRecognizer", "recognizer_for"]


class Recognizer(Protocol):
    """Turns one caller turn of audio into text ("" when nothing was understood)."""

    def transcribe(self, pcm16: bytes, rate: int) -> str: ...


class ScriptedRecognizer:
    """Returns pre-written caller lines in order, then ``""`` once they run out."""

    __slots__ = ("_lines",)

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = list(lines)

    def transcribe(self, pcm16: bytes, rate: int) -> str:
        return self._lines.pop(0) if self._lines else ""

    @property
    def remaining(self) -> int:
        return len(self._lines)


def recognizer_for(scenario: Scenario) -> Recognizer:
    """The recogniser a scenario asks for: its scripted lines, or pocketsphinx on its phrases."""
    if scenario.recognizer == "pocketsphinx":
        from gateway.emulator.sphinx import SphinxRecognizer  # noqa: PLC0415  (loads a model)

        return SphinxRecognizer(scenario.phrases)
    return ScriptedRecognizer(scenario.caller_transcripts)
