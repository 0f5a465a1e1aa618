"""A real softphone: baresip (headless, deploy/baresip/call-gateway.sh) calls the gateway,
speaks a line and records what it hears."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

import pytest

from gateway.app.wavio import read_wav_phone, rms_dbfs
from tests.conftest import require_tool
from tests.e2e.harness import REPO, stack

pytestmark = pytest.mark.system

SCRIPT = REPO / "deploy" / "baresip" / "call-gateway.sh"

GRAPH = """
name: softphone
session:
  audio_format: audio/pcmu
  turn_detection: {type: server_vad, silence_duration_ms: 400, prefix_padding_ms: 200}
phone: {greeting: "Test line, hello."}
agents:
  - name: desk
    instructions: "You answer the test line."
    tools: [end_call]
routes: {default: desk}
"""

SCENARIO = """
caller_transcripts: ["What are your opening hours?"]
rules:
  - caller: "hours"
    say: "We are open from nine in the morning to five in the afternoon."
fallback: "Sorry, I did not get that."
"""

_FRAME = 320  # 20 ms of PCM16 at 8 kHz


def _run_script(*args: str, timeout: float = 40) -> tuple[int, str]:
    """Run call-gateway.sh in its own process group (baresip included), killed on timeout."""
    proc = subprocess.Popen(
        [str(SCRIPT), *args], stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        _, log = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.communicate(timeout=5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        raise
    return proc.returncode, log


def test_baresip_calls_the_gateway_and_hears_the_agent(tmp_path: Path) -> None:
    """baresip dials the gateway, is answered, says its line; the agent's greeting and answer
    reach baresip (its recording has seconds of speech-level audio) and the gateway's CDR
    and transcript show the call from user baresip."""
    for tool in ("baresip", "sox", "espeak-ng"):
        require_tool(tool)
    heard = tmp_path / "heard.wav"
    with stack(tmp_path) as calls:
        calls.start_emulator(SCENARIO)
        calls.start_gateway(GRAPH)
        returncode, log = _run_script(
            "-t", "8", "-d", "2000", "-o", str(heard),
            "-s", "What are your opening hours?", calls.gateway_uri,
        )  # fmt: skip
        (tmp_path / "baresip.log").write_text(log)
        assert returncode == 0, log[-3000:]
        assert f"Call established: {calls.gateway_uri}" in log
        (cdr,) = calls.wait_cdrs(1)
    assert cdr["caller"] == "baresip" and cdr["dialed"] == "100"
    assert cdr["sip_codes"] == [180, 200] and cdr["outcome"] == "caller_hangup"
    assert 7 <= cdr["talk_s"] <= 9
    assert Path(cdr["transcript_file"]).read_text().splitlines() == [
        "assistant: Test line, hello.",
        "user: What are your opening hours?",
        "assistant: We are open from nine in the morning to five in the afternoon.",
    ]
    pcm = read_wav_phone(heard)
    assert len(pcm) / 16000 >= 7  # the whole call was recorded
    frames = [pcm[i : i + _FRAME] for i in range(0, len(pcm) - _FRAME + 1, _FRAME)]
    voiced = [f for f in frames if rms_dbfs(f) > -40]
    assert len(voiced) * 0.02 >= 3.0  # greeting and answer: seconds of speech
    assert rms_dbfs(b"".join(voiced)) > -30  # at speech level, not noise
    # the answer came after the caller's line (which ends about 3.8 s into the call)
    assert sum(rms_dbfs(f) > -40 for f in frames[200:]) * 0.02 >= 1.5
