"""The pocketsphinx recogniser on espeak-ng speech over the phone path (8 kHz μ-law)."""

from __future__ import annotations

import pytest

from gateway.app.demo import LINES
from gateway.emulator.dsp import resample
from gateway.emulator.phrases import examples, spoken, word_errors
from gateway.emulator.recognizer import ScriptedRecognizer, recognizer_for
from gateway.emulator.scenario import Scenario, load_scenario
from gateway.emulator.sphinx import SphinxRecognizer
from tests.conftest import require_tool
from tests.speech.conftest import CALL_CENTER_SCENARIO, FRONT_DESK_SCENARIO, phone_turn

SCENARIOS = [CALL_CENTER_SCENARIO, FRONT_DESK_SCENARIO]
MIN_LINE_RATE = 0.85
"""Measured: 33/36 call-centre lines and 16/16 front-desk lines (bench/asr.py)."""


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_every_phrase_word_is_in_the_dictionary(path: object) -> None:
    """No shipped phrase has a word the recogniser cannot hear (it would be skipped)."""
    recognizer = SphinxRecognizer(load_scenario(str(path)).phrases)
    assert recognizer.missing_words == frozenset()


def test_the_scenario_picks_the_recogniser() -> None:
    """``recognizer: pocketsphinx`` listens; the default stays the scripted lines."""
    assert isinstance(recognizer_for(load_scenario(CALL_CENTER_SCENARIO)), SphinxRecognizer)
    assert isinstance(recognizer_for(Scenario()), ScriptedRecognizer)


@pytest.mark.system
def test_the_demo_lines_are_recognised_word_for_word() -> None:
    """Each caller line of the demo comes back exactly, in written form."""
    require_tool("espeak-ng")
    recognizer = SphinxRecognizer(load_scenario(CALL_CENTER_SCENARIO).phrases)
    heard = [recognizer.transcribe(phone_turn(line), 8000) for line in LINES]
    assert heard == [
        "I need help with my bill",
        "My account number is 1001",
        "That's all thank you goodbye",
    ]


@pytest.mark.system
@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_recognition_rate_on_every_phrase_at_8khz(path: object) -> None:
    """At least 85 % of the renderings of every phrase (shortest and longest choices) come
    back word for word, and the word error rate stays under 5 %."""
    require_tool("espeak-ng")
    phrases = load_scenario(str(path)).phrases
    recognizer = SphinxRecognizer(phrases)
    lines = [example for phrase in phrases for example in examples(phrase)]
    errors = [
        word_errors(spoken(line), recognizer.words(phone_turn(line), 8000).split())
        for line in lines
    ]
    exact = sum(e == 0 for e in errors) / len(lines)
    wer = sum(errors) / sum(len(spoken(line)) for line in lines)
    assert exact >= MIN_LINE_RATE and wer < 0.05, (exact, wer)


@pytest.mark.system
def test_pcm_24khz_sessions_are_heard_too() -> None:
    """``audio/pcm`` input (24 kHz) is brought down to the model's 16 kHz and recognised."""
    require_tool("espeak-ng")
    recognizer = SphinxRecognizer(load_scenario(CALL_CENTER_SCENARIO).phrases)
    wideband = resample(phone_turn("I want a new plan"), 8000, 24000)
    assert recognizer.transcribe(wideband, 24000) == "I want a new plan"


def test_silence_is_heard_as_nothing() -> None:
    """No speech, no words (a grammar could otherwise force a phrase onto noise)."""
    recognizer = SphinxRecognizer(load_scenario(CALL_CENTER_SCENARIO).phrases)
    assert recognizer.transcribe(bytes(2 * 8000), 8000) == ""
    assert recognizer.transcribe(b"", 8000) == ""
