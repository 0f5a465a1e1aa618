"""``voicegw demo``: the spoken call-centre conversation end to end, its verdict, --listen."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from gateway.app.demo_report import report
from gateway.app.wavio import write_wav_phone
from tests.conftest import REPO, require_tool
from tests.e2e.harness import free_port
from tests.speech.conftest import CALL_CENTER, CALL_CENTER_SCENARIO

VOICEGW = [sys.executable, "-m", "gateway.app.cli"]
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


@pytest.mark.system
def test_the_spoken_demo_goes_the_whole_way(tmp_path: Path) -> None:
    """The demo exits 0; both ends recognised the other's words (allowing for recogniser
    error); triage handed off to billing, get_balance ran; every timing was reported."""
    require_tool("espeak-ng")
    done = subprocess.run(
        [*VOICEGW, "demo", "--workdir", str(tmp_path)],
        capture_output=True, text=True, cwd=REPO, env=ENV, timeout=150, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads((tmp_path / "summary.json").read_text())
    heard_by_emulator = " ".join(data["emulator_heard"]).lower()
    assert sum(w in heard_by_emulator for w in ("bill", "account", "1001", "goodbye")) >= 3
    heard_by_caller = " ".join(h["words"] for h in data["caller_heard"])
    assert sum(w in heard_by_caller for w in ("welcome", "billing", "balance", "goodbye")) >= 3
    assert data["caller_accuracy"] >= 0.6 and data["agent_accuracy"] >= 0.6
    assert data["agents"][:2] == ["triage", "billing"] and "get_balance" in data["tools"]
    call = data["call"]
    assert call["ms_to_answer"] is not None and call["ms_to_first_audio"] is not None
    assert len(call["turn_latency_ms"]) == 3 and call["hangup_by"] == "remote"
    assert len(data["emulator_latency_ms"]) >= 3
    assert all(0 < ms < 2000 for ms in data["emulator_latency_ms"])
    for printed in ("The caller heard the agent", "response latency", "emulator latency"):
        assert printed in done.stdout


def _fake_call(work: Path, recording: bytes) -> dict[str, Any]:
    """A finished call's files as the demo leaves them, with ``recording`` as what was heard."""
    (work / "cdr").mkdir(parents=True)
    cdr = {"agents": ["triage", "billing"], "tools": [{"tool": "get_balance", "ok": True}]}
    (work / "cdr" / "cdr.jsonl").write_text(json.dumps(cdr) + "\n")
    log = [{"event": "first_audio_sent", "latency_ms": 210.0}] * 3
    (work / "emulator.log").write_text("".join(json.dumps(e) + "\n" for e in log))
    write_wav_phone(work / "caller-heard.wav", recording)
    return {
        "answered": True,
        "ms_to_answer": 9,
        "ms_to_first_audio": 300,
        "turn_latency_ms": [400, 500, 500],
        "hangup_by": "remote",
        "transcript": [
            "assistant: Welcome to Springfield Broadband.",
            "user: I need help with my bill",
            "assistant: I'll put you through to billing.",
            "user: My account number is 1001",
            "assistant: Your balance is 42.10 pounds, due on the 28th.",
            "user: That's all thank you goodbye",
            "assistant: Thank you for calling Springfield Broadband. Goodbye!",
        ],
    }


def test_a_caller_who_heard_only_silence_fails_the_demo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Everything else right, but the recording is silent: the demo exits 1 and says why."""
    lines = ("I need help with my bill.", "My account number is one zero zero one.", "Goodbye.")
    summary = _fake_call(tmp_path, bytes(2 * 8000 * 5))
    assert report(summary, tmp_path, CALL_CENTER, CALL_CENTER_SCENARIO, lines) == 1
    data = json.loads((tmp_path / "summary.json").read_text())
    assert data["problems"] == ["the caller did not hear the agent"]
    assert "FAILED: the caller did not hear the agent" in capsys.readouterr().out


@pytest.mark.system
def test_listen_mode_answers_a_softphone_and_shows_the_conversation(tmp_path: Path) -> None:
    """--listen prints a SIP URI; a call to it (our test caller standing in for a softphone)
    is answered, and what the emulator heard and said is echoed; Ctrl-C stops it cleanly."""
    require_tool("espeak-ng")
    port = free_port()
    demo = subprocess.Popen(
        [*VOICEGW, "demo", "--listen", "--sip-port", str(port), "--workdir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO, env=ENV,
    )  # fmt: skip
    try:
        assert demo.stdout is not None
        shown = ""
        while f"Call sip:100@127.0.0.1:{port}" not in shown:
            line = demo.stdout.readline()
            assert line, shown
            shown += line
        call = [
            *VOICEGW, "call", f"sip:100@127.0.0.1:{port}", "--duration", "40",
            "--say", "I need help with my bill.", "--say", "That's all, thank you. Goodbye.",
        ]  # fmt: skip
        placed = subprocess.run(
            call, capture_output=True, text=True, env=ENV, timeout=60, check=False
        )
        assert placed.returncode == 0, placed.stdout + placed.stderr
        time.sleep(0.5)  # the last log lines are echoed within 0.2 s
    finally:
        demo.send_signal(signal.SIGINT)
        out, _ = demo.communicate(timeout=30)
    shown += out
    assert demo.returncode == 0, shown
    assert "caller  I need help with my bill" in shown
    assert "agent   I'll put you through to billing." in shown
    assert "agent   Thank you for calling Springfield Broadband. Goodbye!" in shown
