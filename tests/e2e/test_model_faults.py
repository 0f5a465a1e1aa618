"""The model misbehaves (emulator fault injection); the caller never sits in dead air."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.app.wavio import read_wav_phone, rms_dbfs
from tests.conftest import require_tool
from tests.e2e.harness import Stack, free_port, stack

pytestmark = pytest.mark.system

GRAPH = """
name: faults
session:
  audio_format: audio/pcmu
  turn_detection: {type: server_vad, silence_duration_ms: 400}
phone:
  greeting: "Hello, how can I help?"
  model_unavailable: MODE
  filler_after_s: 2
agents:
  - name: desk
    instructions: "Desk."
routes:
  default: desk
"""

SCENARIO = """
caller_transcripts: ["what are your hours", "and on sunday"]
rules:
  - caller: "hours|sunday"
    say: "We are open nine to five."
fallback: "Sorry."
"""


@pytest.fixture
def calls(tmp_path: Path) -> Iterator[Stack]:
    require_tool("espeak-ng")
    with stack(tmp_path) as s:
        yield s


def _voiced_seconds(wav: Path) -> float:
    pcm = read_wav_phone(wav)
    frames = [pcm[i : i + 320] for i in range(0, len(pcm) - 319, 320)]
    return sum(1 for f in frames if rms_dbfs(f) > -40) * 0.02


def test_model_unreachable_at_call_start_plays_the_fallback_and_hangs_up(calls: Stack) -> None:
    """Handshakes refused: the call is answered, the caller hears the bundled apology, the
    gateway hangs up; the CDR says why."""
    calls.start_emulator(SCENARIO, "--refuse", "-1")
    calls.start_gateway(GRAPH.replace("MODE", "announce"))
    wav = calls.workdir / "heard.wav"
    summary = calls.call("--record", str(wav), "--duration", "20")
    assert summary["answered"] and summary["hangup_by"] == "remote"
    assert _voiced_seconds(wav) > 3.0  # the fallback prompt is ~6 s of speech
    (cdr,) = calls.wait_cdrs(1)
    assert cdr["outcome"] == "model_unavailable"
    assert cdr["counters"]["prompt_fallback"] == 1


def test_model_unreachable_can_refuse_with_503_instead(calls: Stack) -> None:
    """model_unavailable: reject answers 503 + Retry-After, so a carrier can route elsewhere."""
    calls.start_emulator(SCENARIO, "--refuse", "-1")
    calls.start_gateway(GRAPH.replace("MODE", "reject"))
    summary = calls.call("--duration", "10")
    assert not summary["answered"]
    assert summary["sip_codes"][-1] == 503
    (cdr,) = calls.wait_cdrs(1)
    assert cdr["outcome"] == "model_unavailable" and cdr["sip_codes"] == [180, 503]


def test_slow_model_gets_a_filler_not_dead_air(calls: Stack) -> None:
    """Answers take 4 s to start: after 2 s the caller hears 'One moment, please.', so the
    line is never silent for more than ~3 s while the caller waits."""
    calls.start_emulator(SCENARIO, "--response-delay-ms", "4000")
    calls.start_gateway(GRAPH.replace("MODE", "announce"))
    summary = calls.call("--say", "What are your hours?", "--duration", "22")
    assert summary["answered"]
    assert summary["turn_latency_ms"] and summary["turn_latency_ms"][0] <= 3000
    assert "assistant: We are open nine to five." in summary["transcript"]
    (cdr,) = calls.wait_cdrs(1)
    assert cdr["counters"]["prompt_filler"] >= 1


def test_dropped_socket_resumes_with_history(calls: Stack) -> None:
    """The model's socket dies 5 s into the call: the gateway reconnects at once, replays the
    conversation and answers the caller's next question."""
    calls.start_emulator(SCENARIO, "--drop-after-s", "5")
    calls.start_gateway(GRAPH.replace("MODE", "announce"))
    summary = calls.call(
        "--say", "What are your hours?", "--say", "And on Sunday?", "--duration", "14"
    )
    assert summary["answered"]
    (cdr,) = calls.wait_cdrs(1)
    assert cdr["counters"]["realtime_reconnects"] >= 1
    assert summary["transcript"].count("assistant: We are open nine to five.") == 2
    assert cdr["outcome"] in ("caller_hangup", "completed")


def test_free_port_helper_gives_distinct_ports() -> None:
    """The harness hands out ports that are free for UDP and TCP alike."""
    assert len({free_port() for _ in range(5)}) == 5
