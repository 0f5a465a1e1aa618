"""The espeak-ng voice: timed words, the session's audio formats, and a session that hears
and speaks (real transcription events, audio and transcript deltas) over the WebSocket."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from gateway.app.agents import build_agent_graph
from gateway.app.config import load_graph_file
from gateway.core.agents.agent import CallContext
from gateway.core.agents.session_config import render_instructions, tool_definitions
from gateway.core.audio import pcm16_to_ulaw, ulaw_to_pcm16
from gateway.emulator import EmulatorServer, Pace
from gateway.emulator.scenario import load_scenario
from gateway.emulator.sphinx import SphinxRecognizer
from gateway.emulator.voice import voice_named
from gateway.errors import AudioError
from tests.conftest import require_tool
from tests.emulator.client import connect
from tests.speech.conftest import CALL_CENTER, CALL_CENTER_SCENARIO, phone_turn

pytestmark = pytest.mark.system

TEXT = "Your balance is 42.10 pounds, due on the 28th."
FAST = Pace(chunk_ms=200, gap_ms=2, latency_ms=0)


@pytest.fixture(autouse=True)
def _espeak() -> None:
    require_tool("espeak-ng")


def _voice() -> Any:
    from gateway.emulator.espeak import EspeakVoice

    return EspeakVoice()


@pytest.mark.parametrize("rate", [8000, 24000])
def test_speech_comes_at_the_asked_rate_with_every_word_timed(rate: int) -> None:
    """PCM16 at 8 or 24 kHz; word marks rebuild the text, start at 0, rise, stay inside."""
    utterance = _voice().synthesize(TEXT, rate)
    assert utterance.sample_rate == rate and len(utterance.pcm) % 2 == 0
    assert 2500 < utterance.duration_ms < 6000
    assert "".join(w.text for w in utterance.words) == TEXT
    starts = [w.start_ms for w in utterance.words]
    assert starts[0] == 0 and starts == sorted(starts) and starts[-1] < utterance.duration_ms
    assert len(set(starts)) >= len(starts) - 2  # espeak-ng merges at most a word or two


def test_word_times_are_where_the_words_are_spoken() -> None:
    """Audio cut at a word's start time holds that word and what follows, not what precedes:
    the recogniser hears "due on the twenty eighth" from the mark of "due" on."""
    utterance = _voice().synthesize(TEXT, 8000)
    due = next(w.start_ms for w in utterance.words if w.text == " due")
    tail = utterance.pcm[due * 16 :]
    recognizer = SphinxRecognizer(["due on the {value}", "pounds due on the {value}"])
    assert recognizer.words(bytes(3200) + tail, 8000) == "due on the twenty eighth"


def test_session_speed_speeds_speech_up() -> None:
    """``speed`` 1.5 is shorter than 1.0; the scenario name picks this voice."""
    voice = voice_named("espeak")
    normal = voice.synthesize(TEXT, 8000).duration_ms
    assert voice.synthesize(TEXT, 8000, speed=1.5).duration_ms < 0.8 * normal


def test_an_unknown_espeak_voice_is_an_audio_error() -> None:
    """A voice espeak-ng does not have is reported, not spoken in a default."""
    from gateway.emulator.espeak import EspeakVoice

    with pytest.raises(AudioError, match="no voice 'xx-nowhere'"):
        EspeakVoice("xx-nowhere").synthesize("hello", 8000)


def _triage_session(output: dict[str, Any]) -> dict[str, Any]:
    agent = build_agent_graph(load_graph_file(CALL_CENTER).spec).agents["triage"]
    return {
        "instructions": render_instructions(agent, CallContext(call_id="t")),
        "tools": tool_definitions(agent),
        "audio": {
            "input": {
                "format": {"type": "audio/pcmu"},
                "transcription": {"model": "gpt-4o-mini-transcribe"},
                "turn_detection": {"type": "server_vad", "silence_duration_ms": 500},
            },
            "output": {"format": output},
        },
    }


async def _one_turn(output: dict[str, Any], line: str) -> list[dict[str, Any]]:
    """Speak ``line`` to a call-centre triage session; every event up to response.done."""
    server = EmulatorServer(load_scenario(CALL_CENTER_SCENARIO), pace=FAST)
    async with server, connect(server.url) as client:
        await client.update(_triage_session(output))
        await client.append(pcm16_to_ulaw(phone_turn(line) + bytes(16000)))
        return await client.until("response.done", within=20)


def _audio(events: list[dict[str, Any]]) -> list[bytes]:
    return [
        base64.b64decode(e["delta"]) for e in events if e["type"] == "response.output_audio.delta"
    ]


async def test_a_triage_session_hears_the_caller_and_answers_in_mulaw() -> None:
    """Real transcription events carry the recognised words; the brain hands off to billing;
    the answer is μ-law 8 kHz in 200 ms deltas whose transcript deltas spell the sentence,
    and the audio says it (recognised back)."""
    events = await _one_turn({"type": "audio/pcmu"}, "I need help with my bill.")
    deltas = [e["delta"] for e in events if e["type"].endswith("transcription.delta")]
    completed = next(e for e in events if e["type"].endswith("transcription.completed"))
    assert "".join(deltas) == completed["transcript"] == "I need help with my bill"
    calls = [e["name"] for e in events if e["type"] == "response.function_call_arguments.done"]
    assert calls == ["transfer_to_billing"]
    words = [e["delta"] for e in events if e["type"] == "response.output_audio_transcript.delta"]
    assert "".join(words) == "I'll put you through to billing."
    chunks = _audio(events)
    assert all(len(c) == 1600 for c in chunks[:-1]) and 0 < len(chunks[-1]) <= 1600
    heard = SphinxRecognizer(["i'll put you through to (billing | sales)", "goodbye"])
    assert heard.words(bytes(3200) + ulaw_to_pcm16(b"".join(chunks)), 8000) == (
        "i'll put you through to billing"
    )


async def test_pcm_sessions_get_24khz_speech() -> None:
    """``audio/pcm`` output: PCM16 at 24 kHz (9600 bytes per 200 ms), still intelligible."""
    events = await _one_turn({"type": "audio/pcm", "rate": 24000}, "I want a new plan.")
    chunks = _audio(events)
    assert all(len(c) == 9600 for c in chunks[:-1])
    heard = SphinxRecognizer(["i'll put you through to (billing | sales)", "goodbye"])
    assert heard.words(bytes(9600) + b"".join(chunks), 24000) == "i'll put you through to sales"
