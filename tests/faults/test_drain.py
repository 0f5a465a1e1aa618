"""SIGTERM / SIGINT with live calls: the gateway refuses new calls (503), lets live calls finish
until the drain deadline, ends the rest politely (the caller hears a goodbye), writes every
record, and exits 0."""

from __future__ import annotations

import json
import signal
import socket
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.app.wavio import read_wav_phone, rms_dbfs
from tests.e2e.harness import VOICEGW, Proc, Stack, stack, start, wait_for

GRAPH = """
name: drain
session: {audio_format: audio/pcmu}
phone: {greeting: "Hello, this is the test line."}
agents: [{name: desk, instructions: "Desk."}]
routes: {default: desk}
"""
SCENARIO = 'caller_transcripts: ["hello"]\nfallback: "Hi there."\n'
GOODBYE = "assistant: I'm sorry, we have to end the call now. Goodbye."


@pytest.fixture
def calls(tmp_path: Path) -> Iterator[Stack]:
    with stack(tmp_path) as s:
        yield s


def _caller(s: Stack, name: str, *args: str) -> Proc:
    """A test caller in the background (its JSON summary ends up in its log)."""
    cmd = [VOICEGW, "--log-format", "json", "call", s.gateway_uri, "--json", *args]
    proc = start(name, cmd, s.workdir)
    s.procs.append(proc)
    return proc


def _summary(proc: Proc) -> dict[str, Any]:
    proc.popen.wait(30)
    lines = [line for line in proc.text().splitlines() if line.startswith('{"answered"')]
    assert lines, proc.text()[-2000:]
    return dict(json.loads(lines[-1]))


def _voiced_s(wav: Path, last_s: float) -> float:
    """Seconds of audible audio in the last ``last_s`` seconds of a recording."""
    pcm = read_wav_phone(wav)[-int(last_s * 16000) :]
    frames = [pcm[i : i + 320] for i in range(0, len(pcm) - 319, 320)]
    return sum(rms_dbfs(f) > -40 for f in frames) * 0.02


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_drain_refuses_new_calls_ends_live_ones_politely_and_records_all(
    calls: Stack, signum: signal.Signals
) -> None:
    """Three live calls, then the signal (drain deadline 3 s). A call placed during the drain
    gets 503 + Retry-After; the short call ends on its own (caller_hangup); the two long ones
    are ended by the gateway at the deadline, together, after a goodbye each caller hears
    (ended_by_gateway, hung up by the far end). Four calls, four CDRs, four transcripts; exit
    status 0."""
    calls.start_emulator(SCENARIO)
    gateway = calls.start_gateway(GRAPH, "--retry-after", "11")
    heard = [calls.workdir / f"long{i}.wav" for i in (1, 2)]
    longs = [
        _caller(calls, f"caller-long{i}", "--duration", "30", "--record", str(wav))
        for i, wav in enumerate(heard)
    ]
    short = _caller(calls, "caller-short", "--duration", "4")
    wait_for(lambda: (calls.ready() or {}).get("active_calls") == 3, 15, "three live calls")
    signalled = time.monotonic()
    gateway.popen.send_signal(signum)
    wait_for(lambda: (calls.ready() or {}).get("draining") is True, 5, "draining")

    refused = calls.call("--duration", "3", transcript=False)
    assert not refused["answered"] and refused["sip_codes"][-1] == 503
    assert gateway.popen.wait(30) == 0
    stopped = time.monotonic() - signalled
    assert 3.0 <= stopped <= 12.0, stopped  # the deadline, a goodbye, and no more

    short_call, long_calls = _summary(short), [_summary(p) for p in longs]
    assert short_call["answered"] and short_call["hangup_by"] == "local"
    assert [(c["answered"], c["hangup_by"]) for c in long_calls] == [(True, "remote")] * 2
    for wav in heard:  # the goodbye, heard just before the gateway hung up
        assert _voiced_s(wav, 3.0) >= 1.0
    lengths = [c["duration_s"] for c in long_calls]
    assert abs(lengths[0] - lengths[1]) < 1.5  # said together, not one goodbye after the other

    cdrs = calls.cdrs()
    outcomes = Counter(c["outcome"] for c in cdrs)
    assert outcomes == Counter(caller_hangup=1, ended_by_gateway=2, refused_draining=1)
    assert all(Path(c["transcript_file"]).exists() for c in cdrs)
    assert len(list((calls.workdir / "cdr" / "transcripts").iterdir())) == len(cdrs)
    for ended in [c for c in cdrs if c["outcome"] == "ended_by_gateway"]:
        assert Path(ended["transcript_file"]).read_text().splitlines()[-1] == GOODBYE
    (no,) = [c for c in cdrs if c["outcome"] == "refused_draining"]
    assert no["sip_codes"] == [503]
    events = [e["event"] for e in gateway.events()]
    assert events.index("gateway_draining") < events.index("gateway_stopped")
    assert not [e for e in gateway.events() if e.get("level") in ("error", "critical")]


def test_drain_refuses_a_call_still_ringing_with_503(calls: Stack) -> None:
    """A call still ringing at the drain deadline (its model socket never finished the
    handshake) is refused 503 + Retry-After, so the carrier can try elsewhere, and recorded as
    ended by the gateway, not as a caller's CANCEL. The handshake is abandoned at once: the
    gateway exits without waiting out the socket's open timeout (10 s)."""
    with socket.socket() as black_hole:  # takes the TCP connection, never answers the upgrade
        black_hole.bind(("127.0.0.1", 0))
        black_hole.listen()
        calls.emulator_port = black_hole.getsockname()[1]
        gateway = calls.start_gateway(GRAPH, "--retry-after", "11")
        ringing = _caller(calls, "caller-ringing", "--duration", "10")
        wait_for(lambda: (calls.ready() or {}).get("active_calls") == 1, 15, "a call ringing")
        signalled = time.monotonic()
        gateway.popen.send_signal(signal.SIGTERM)
        assert gateway.popen.wait(30) == 0
        stopped = time.monotonic() - signalled
    assert 3.0 <= stopped <= 6.0, stopped  # the 3 s deadline, not the 8 s setup / 10 s open timeout
    summary = _summary(ringing)
    assert not summary["answered"]
    assert summary["sip_codes"][-1] == 503
    [cdr] = calls.cdrs()
    assert cdr["outcome"] == "ended_by_gateway"
    assert cdr["sip_codes"] == [180, 503]
    assert Path(cdr["transcript_file"]).exists()
