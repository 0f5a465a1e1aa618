"""``voicegw demo``: a real phone call, end to end, with no account and no network.

Starts the offline Realtime emulator and the gateway on loopback (separate processes: one
pjsua2 endpoint each), then places a call with the test caller speaking espeak-ng lines to the
front-desk graph: greeting -> a question -> a tool call -> the answer -> goodbye -> the agent
hangs up. Prints both sides' transcript and the timings, and exits 0 only if the call went the
whole way.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["add_demo_command"]

ROOT = Path(__file__).resolve().parents[2]
GRAPH = ROOT / "agents_config" / "front_desk.yaml"
SCENARIO = ROOT / "agents_config" / "front_desk.scenario.yaml"
LINES = ("What are your opening hours on Monday?", "Great, thank you. Goodbye.")


def add_demo_command(commands: Any) -> None:
    cmd = commands.add_parser(
        "demo",
        help="place a real call through the gateway to the offline emulator",
        description="Emulator + gateway on loopback, a spoken test call, transcript and timings.",
    )
    cmd.add_argument("--workdir", default="var/demo", help="logs and call records go here")
    cmd.add_argument("--graph", default=str(GRAPH))
    cmd.add_argument("--scenario", default=str(SCENARIO))
    cmd.set_defaults(handler=run_demo)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _voicegw() -> list[str]:
    return [sys.executable, "-m", "gateway.app.cli", "--log-format", "json"]


@contextlib.contextmanager
def _process(args: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)  # noqa: S603
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


def _wait(predicate: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _ready(http_port: int) -> bool:
    url = f"http://127.0.0.1:{http_port}/readyz"
    try:
        with urllib.request.urlopen(url, timeout=1) as answer:
            return bool(json.loads(answer.read()).get("ready"))
    except (OSError, ValueError):
        return False


def run_demo(args: argparse.Namespace) -> int:
    work = Path(args.workdir).resolve()
    (work / "cdr").mkdir(parents=True, exist_ok=True)
    emu_port, sip_port, http_port = _free_port(), _free_port(), _free_port()
    print("voicegw demo: a phone call to the front-desk agent, all offline")
    emulator = [*_voicegw(), "emulator", "--port", str(emu_port), "--scenario", args.scenario]
    gateway = [
        *_voicegw(), "serve", "--config", args.graph,
        "--sip-host", "127.0.0.1", "--sip-port", str(sip_port), "--http-port", str(http_port),
        "--realtime-url", f"ws://127.0.0.1:{emu_port}/v1/realtime",
        "--cdr-dir", str(work / "cdr"),
    ]  # fmt: skip
    with _process(emulator, work / "emulator.log"), _process(gateway, work / "gateway.log"):
        if not _wait(lambda: _listening(emu_port), 20) or not _wait(lambda: _ready(http_port), 30):
            print(f"the emulator or the gateway did not start; see {work}/*.log", file=sys.stderr)
            return 1
        print(f"  emulator  ws://127.0.0.1:{emu_port}/v1/realtime")
        print(f"  gateway   sip:100@127.0.0.1:{sip_port}  (http://127.0.0.1:{http_port}/readyz)")
        print("calling ...", flush=True)
        summary = _call(sip_port, http_port, work)
    return _report(summary, work)


def _call(sip_port: int, http_port: int, work: Path) -> dict[str, Any]:
    cmd = [
        *_voicegw(), "call", f"sip:100@127.0.0.1:{sip_port}", "--json",
        "--gateway-http", f"http://127.0.0.1:{http_port}",
        "--record", str(work / "caller-heard.wav"), "--duration", "60",
    ]  # fmt: skip
    for line in LINES:
        cmd += ["--say", line]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(  # noqa: S603  (our own CLI, fixed arguments)
        cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=120, check=False
    )
    (work / "caller.log").write_text(done.stderr)
    found = [line for line in done.stdout.splitlines() if line.startswith('{"answered"')]
    return dict(json.loads(found[-1])) if found else {}


def _report(summary: dict[str, Any], work: Path) -> int:
    if not summary.get("answered"):
        print(f"the call was not answered; see {work}/*.log", file=sys.stderr)
        return 1
    print("\nTranscript")
    for line in summary.get("transcript", []):
        role, _, text = line.partition(": ")
        print(f"  {'agent ' if role == 'assistant' else 'caller'}  {text}")
    latencies = ", ".join(f"{ms} ms" for ms in summary.get("turn_latency_ms", [])) or "-"
    ender = "the agent (end_call)" if summary.get("hangup_by") == "remote" else "the caller"
    print("\nTimings")
    print(f"  answered after          {summary.get('ms_to_answer')} ms (180 Ringing, then 200 OK)")
    print(f"  first agent audio       {summary.get('ms_to_first_audio')} ms after answer")
    print(f"  response latency        {latencies} (end of caller line -> agent audio)")
    print(f"  call length             {summary.get('duration_s')} s, ended by {ender}")
    print(f"\nRecords: {work}/cdr/cdr.jsonl, transcripts in {work}/cdr/transcripts/")
    transcript = "\n".join(summary.get("transcript", []))
    ok = "get_hours" in _tools(work) and "Goodbye" in transcript and ender.startswith("the agent")
    if not ok:
        print("the call did not go the whole way (tool, goodbye, agent hang-up)", file=sys.stderr)
    return 0 if ok else 1


def _tools(work: Path) -> list[str]:
    path = work / "cdr" / "cdr.jsonl"
    if not path.exists():
        return []
    last = json.loads(path.read_text().splitlines()[-1])
    return [t["tool"] for t in last.get("tools", [])]
