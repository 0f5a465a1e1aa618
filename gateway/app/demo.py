"""``voicegw demo``: a real spoken phone call, end to end, with no account and no network.

Starts the offline Realtime emulator (pocketsphinx ears, espeak-ng voice, the call centre's
rule brain) and the gateway on loopback, as separate processes (one pjsua2 endpoint each),
then places a call with the test caller speaking espeak-ng lines to the call-centre graph:
greeting -> "I need help with my bill" -> handoff from triage to billing -> the account
number -> the get_balance tool -> the answer -> goodbye -> the agent hangs up. The caller
records what it hears; the demo prints both sides (what the emulator recognised the caller
saying, and what pocketsphinx hears in the caller's recording of the agent) and the timings,
and exits 0 only if the whole pipeline worked (see demo_report.py).

``--listen`` starts the same two processes and prints a SIP URI for a softphone on this
machine instead, then shows what the emulator hears and says until Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["GRAPH", "LINES", "SCENARIO", "add_demo_command"]

ROOT = Path(__file__).resolve().parents[2]
GRAPH = ROOT / "agents_config" / "call_center.yaml"
SCENARIO = ROOT / "agents_config" / "call_center.scenario.yaml"
LINES = (
    "I need help with my bill.",
    "My account number is one zero zero one.",
    "That's all, thank you. Goodbye.",
)
"""What the test caller says, in turn (espeak-ng, en-us)."""
LISTEN_SIP_PORT = 5080  # a softphone on the same machine usually takes 5060 itself


def add_demo_command(commands: Any) -> None:
    cmd = commands.add_parser(
        "demo",
        help="a real spoken call through the gateway to the offline emulator",
        description="Emulator + gateway on loopback, a spoken test call, transcripts, timings.",
    )
    cmd.add_argument("--workdir", default="var/demo", help="logs, recording and records go here")
    cmd.add_argument("--graph", default=str(GRAPH))
    cmd.add_argument("--scenario", default=str(SCENARIO))
    cmd.add_argument(
        "--listen", action="store_true", help="wait for calls from a softphone (until Ctrl-C)"
    )
    cmd.add_argument(
        "--sip-port", type=int, default=LISTEN_SIP_PORT, help="the gateway's port with --listen"
    )
    cmd.set_defaults(handler=run_demo)


@dataclass(frozen=True, slots=True)
class Ports:
    emulator: int
    sip: int
    http: int


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
    except (OSError, ValueError, http.client.HTTPException):  # e.g. a self-connected socket
        return False


@contextlib.contextmanager
def _stack(args: argparse.Namespace, work: Path, ports: Ports) -> Iterator[bool]:
    """The emulator and the gateway running; yields whether both came up."""
    emulator = [*_voicegw(), "emulator", "--port", str(ports.emulator), "--scenario", args.scenario]
    gateway = [
        *_voicegw(), "serve", "--config", args.graph,
        "--sip-host", "127.0.0.1", "--sip-port", str(ports.sip), "--http-port", str(ports.http),
        "--realtime-url", f"ws://127.0.0.1:{ports.emulator}/v1/realtime",
        "--cdr-dir", str(work / "cdr"),
    ]  # fmt: skip
    with _process(emulator, work / "emulator.log"), _process(gateway, work / "gateway.log"):
        up = _wait(lambda: _listening(ports.emulator), 30) and _wait(lambda: _ready(ports.http), 30)
        if not up:
            print(f"the emulator or the gateway did not start; see {work}/*.log", file=sys.stderr)
        yield up


def run_demo(args: argparse.Namespace) -> int:
    from gateway.app.demo_report import report  # noqa: PLC0415  (loads pocketsphinx)

    work = Path(args.workdir).resolve()
    (work / "cdr").mkdir(parents=True, exist_ok=True)
    sip_port = args.sip_port if args.listen else _free_port()
    ports = Ports(_free_port(), sip_port, _free_port())
    graph = Path(args.graph).stem.replace("_", "-")
    print(f"voicegw demo: a spoken phone call to the {graph} agents, all offline")
    with _stack(args, work, ports) as up:
        if not up:
            return 1
        print(f"  emulator  ws://127.0.0.1:{ports.emulator}/v1/realtime  (pocketsphinx, espeak-ng)")
        print(f"  gateway   sip:100@127.0.0.1:{ports.sip}  (http://127.0.0.1:{ports.http}/readyz)")
        if args.listen:
            return _listen(ports, work)
        print("calling ...", flush=True)
        summary = _call(ports, work)
    return report(summary, work, Path(args.graph), Path(args.scenario), LINES)


def _call(ports: Ports, work: Path) -> dict[str, Any]:
    cmd = [
        *_voicegw(), "call", f"sip:100@127.0.0.1:{ports.sip}", "--json",
        "--gateway-http", f"http://127.0.0.1:{ports.http}",
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


def _listen(ports: Ports, work: Path) -> int:
    """Wait for softphone calls, echoing what the emulator hears and says, until Ctrl-C."""
    uri = f"sip:100@127.0.0.1:{ports.sip}"
    print(f"\nCall {uri} from a softphone on this machine (see README), e.g.")
    print(f"  baresip -e '/dial {uri}'")
    print("Say: 'I need help with my bill', 'my account number is one zero zero one', 'goodbye'.")
    print("Ctrl-C to stop.\n", flush=True)
    log = work / "emulator.log"
    position = 0
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started in background
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop cleanly on TERM too
    try:
        while True:
            position = _echo_new(log, position)
            time.sleep(0.2)
    except KeyboardInterrupt:
        print("\nstopped")
    return 0


def _echo_new(log: Path, position: int) -> int:
    with log.open("rb") as source:
        source.seek(position)
        chunk = source.read()
    complete = chunk[: chunk.rfind(b"\n") + 1]
    for raw in complete.splitlines():
        with contextlib.suppress(ValueError):
            entry = json.loads(raw)
            who = {"caller_heard": "caller", "agent_said": "agent "}.get(entry.get("event"))
            if who is not None:
                print(f"  {who}  {entry['transcript']}", flush=True)
            elif entry.get("event") == "session_opened":
                print("call connected", flush=True)
            elif entry.get("event") == "first_audio_sent":
                latency = entry["latency_ms"]
                print(f"          (answered {latency:.0f} ms after the caller stopped)", flush=True)
    return position + len(complete)
