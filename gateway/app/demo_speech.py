"""The demo's second pair of ears: what the caller heard, transcribed from its recording.

The emulator recognises the caller; this recognises the agent, from the WAV the test caller
recorded (8 kHz, after the gateway's μ-law and RTP). Like the emulator it listens with
pocketsphinx for a grammar, here of every sentence the agent can say: the graph's prompts
(greeting, no-input prompts, guardrail messages) and the scenario's replies, each
``{placeholder}`` accepting a spoken value (numbers, ordinals). The grammar comes from the
files alone, never from the call, so what comes back is what the recording holds. The
recording is cut into sentences at pauses of 250 ms (espeak-ng pauses longer between
sentences) and each is decoded on its own: a grammar of several phrases in a row decodes
tens of times slower.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from gateway.app.config import load_graph_file
from gateway.app.wavio import read_wav_phone
from gateway.core.audio.transcode import PHONE_RATE
from gateway.emulator.model import ANYTHING_ELSE, DEFAULT_GREETING, NOT_HEARD
from gateway.emulator.phrases import sentence_phrase, spoken, word_errors
from gateway.emulator.scenario import Scenario
from gateway.emulator.sphinx import SphinxRecognizer, listen

__all__ = ["Heard", "agent_phrases", "hear_recording", "word_accuracy"]

SENTENCE_PAUSE_MS = 250


@dataclass(frozen=True, slots=True)
class Heard:
    start_ms: int
    words: str


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.?!])\s+", text.strip()) if s]


def agent_phrases(graph: str | Path, scenario: Scenario) -> list[str]:
    """Every sentence the agent may say, as phrases (one per sentence, values as slots)."""
    spec = load_graph_file(graph, resolve_imports=False).spec
    phone = spec.phone
    texts = [phone.greeting or "", phone.no_input.reprompt, phone.no_input.goodbye]
    texts += [phone.duration_warning, DEFAULT_GREETING, ANYTHING_ELSE, NOT_HEARD]
    for agent in spec.agents:
        texts += [g.message or "" for g in agent.guardrails.input]
    rules = [*scenario.rules, *(r for a in scenario.agents for r in a.rules)]
    texts += [r.say or "" for r in rules]
    texts += [a.fallback or "" for a in scenario.agents]
    texts += [scenario.greeting or "", scenario.fallback or "", scenario.idle_reply]
    phrases = {sentence_phrase(s) for text in texts for s in _sentences(text)}
    # A sentence opening with a tool's free text cannot be listened for (and a grammar phrase
    # opening with a slot stops pocketsphinx matching others): leave those out.
    return sorted(p for p in phrases if p.strip() and not p.startswith("{"))


def hear_recording(wav: str | Path, phrases: list[str]) -> list[Heard]:
    """What a recording says, utterance by utterance (cut at pauses)."""
    recognizer = SphinxRecognizer(phrases)
    pcm = read_wav_phone(wav)
    found = listen(pcm, PHONE_RATE, recognizer, pause_ms=SENTENCE_PAUSE_MS)
    return [Heard(start, words) for start, words in found]


def word_accuracy(expected: list[str], heard: list[str], *, digit_by_digit: bool = False) -> float:
    """1 - word error rate of ``heard`` against ``expected`` texts (spoken forms), >= 0."""
    want = [w for text in expected for w in spoken(text, digit_by_digit=digit_by_digit)]
    got = [w for text in heard for w in spoken(text, digit_by_digit=digit_by_digit)]
    if not want:
        return 1.0 if not got else 0.0
    return max(0.0, 1 - word_errors(want, got) / len(want))
