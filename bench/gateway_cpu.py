"""Gateway CPU per call, four calls at once, against a bare pjsua2 process doing the same calls.

Run: ``.venv/bin/python bench/gateway_cpu.py`` (needs SIPp and root or CAP_NET_RAW: SIPp plays
its RTP from a pcap through a raw socket).

1. ``voicegw serve --max-calls 4`` with the offline emulator. The agent talks all the time: its
   greeting is a long monologue, streamed at real-time pace (``--chunk-ms 100 --gap-ms 100``),
   so downlink audio crosses the WebSocket, the playout ring and pjmedia during the whole
   window. SIPp (``deploy/sipp/uac_pcmu.xml``) places four calls and sends continuous PCMU RTP
   (digital silence, so the agent is never interrupted) that the gateway forwards to the model.
2. The baseline: the same four SIPp calls answered by a bare pjsua2 process,
   ``python -m gateway.adapters.sip.probe answer --calls 4``, which plays a tone and records
   (our thread model and media port, no Realtime session, no agent).

For each, once the four calls have media and a settling time has passed, the process's
``utime + stime`` (``/proc/<pid>/stat``, all threads) is read over a steady window; the figure is
that CPU time over the wall time, in % of one core, divided by four. The ratio of the two is the
binding's overhead; the target is at most 1.3x the bare baseline measured in the same run. The
per-thread split shows pjmedia's ``clock`` thread apart; the Python threads (asyncio, pjsua poll
and command) all carry the process's name.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VOICEGW = str(Path(sys.executable).with_name("voicegw"))
CALLS = 4
TARGET_RATIO = 1.3
TICK = os.sysconf("SC_CLK_TCK")

SENTENCE = (
    "Our opening hours are nine to five on weekdays and ten to two on Saturdays, and we are "
    "closed on Sundays and public holidays. "
)
GRAPH = f"""
name: bench
session:
  audio_format: audio/pcmu
  turn_detection: {{type: server_vad}}
phone:
  greeting: "{SENTENCE * 12}"
agents:
  - name: talker
    instructions: "You talk."
    tools: [end_call]
routes: {{default: talker}}
"""
SCENARIO = "fallback: Sorry.\n"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise TimeoutError(f"timed out waiting for {what}")


def _stat(path: str) -> tuple[str, float]:
    """(name, utime + stime in seconds) from a stat(5) file."""
    with open(path) as f:
        text = f.read()
    name = text[text.index("(") + 1 : text.rindex(")")]
    fields = text.rsplit(")", 1)[1].split()
    return name, (int(fields[11]) + int(fields[12])) / TICK  # fields 14 and 15 of stat(5)


def threads(pid: int) -> dict[int, tuple[str, float]]:
    """Each thread's name and CPU seconds."""
    found = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            found[int(tid)] = _stat(f"/proc/{pid}/task/{tid}/stat")
    return found


@dataclass
class Usage:
    percent: float
    """utime + stime of the whole process over the window, in % of one core."""
    by_thread: dict[str, float]
    """The same, per thread name (threads of one name summed)."""


def usage(pid: int, seconds: float) -> Usage:
    start_cpu, start_threads, start = _stat(f"/proc/{pid}/stat")[1], threads(pid), time.monotonic()
    time.sleep(seconds)
    wall = time.monotonic() - start
    total = _stat(f"/proc/{pid}/stat")[1] - start_cpu
    by_thread: dict[str, float] = {}
    for tid, (name, cpu) in threads(pid).items():
        spent = cpu - start_threads.get(tid, (name, 0.0))[1]
        by_thread[name] = by_thread.get(name, 0.0) + 100 * spent / wall
    return Usage(100 * total / wall, by_thread)


@contextlib.contextmanager
def process(args: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A child process, stopped with SIGTERM (then SIGKILL) however the block ends."""
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def sipp(target_port: int, pcap: Path, hold_s: float, workdir: Path) -> list[str]:
    """SIPp placing four calls that play ``pcap`` and stay up ``hold_s``."""
    return [
        shutil.which("sipp") or "sipp", f"127.0.0.1:{target_port}",
        "-sf", str(REPO / "deploy" / "sipp" / "uac_pcmu.xml"), "-s", "100",
        "-key", "pcap", str(pcap), "-d", str(int(hold_s * 1000)),
        "-m", str(CALLS), "-l", str(CALLS), "-r", "20",
        "-i", "127.0.0.1", "-p", str(free_port()), "-mi", "127.0.0.1", "-mp", str(free_port()),
        "-nostdin", "-trace_err", "-error_file", str(workdir / "sipp-errors.log"),
    ]  # fmt: skip


def measure(
    pid: int, calls_up: Callable[[], bool], args: argparse.Namespace, sipp: subprocess.Popen[bytes]
) -> Usage:
    """Usage over the window once the calls are up; then SIPp ends its calls (BYE)."""
    wait_for(calls_up, 20, f"{CALLS} calls with media")
    time.sleep(args.settle)
    measured = usage(pid, args.seconds)
    sipp.wait(60)
    return measured


def gateway_run(args: argparse.Namespace, workdir: Path, pcap: Path, hold_s: float) -> Usage:
    (workdir / "graph.yaml").write_text(GRAPH)
    (workdir / "scenario.yaml").write_text(SCENARIO)
    emu_port, sip_port, http_port = free_port(), free_port(), free_port()
    emulator = [
        VOICEGW, "emulator", "--port", str(emu_port), "--scenario", str(workdir / "scenario.yaml"),
        "--chunk-ms", "100", "--gap-ms", "100",
    ]  # fmt: skip
    serve = [
        VOICEGW, "--log-format", "json", "serve", "--config", str(workdir / "graph.yaml"),
        "--sip-host", "127.0.0.1", "--sip-port", str(sip_port), "--http-port", str(http_port),
        "--rtp-port", str(free_port()), "--rtp-port-range", "40", "--max-calls", str(CALLS),
        "--realtime-url", f"ws://127.0.0.1:{emu_port}/v1/realtime",
        "--cdr-dir", str(workdir / "cdr"), "--drain-timeout", "2",
    ]  # fmt: skip

    def active_calls() -> int:
        try:
            url = f"http://127.0.0.1:{http_port}/readyz"
            with urllib.request.urlopen(url, timeout=1) as answer:
                return int(json.loads(answer.read())["active_calls"])
        except (OSError, ValueError, KeyError):
            return -1

    with (
        process(emulator, workdir / "emulator.log"),
        process(serve, workdir / "gateway.log") as gateway,
    ):
        wait_for(lambda: active_calls() == 0, 20, "the gateway")
        with process(sipp(sip_port, pcap, hold_s, workdir), workdir / "sipp-gw.log") as caller:
            measured = measure(gateway.pid, lambda: active_calls() == CALLS, args, caller)
        cdr = workdir / "cdr" / "cdr.jsonl"
        wait_for(lambda: cdr.exists() and len(cdr.read_text().splitlines()) == CALLS, 10, "CDRs")
    for line in cdr.read_text().splitlines():
        record = json.loads(line)
        print(
            f"  gateway call {record['sip_call_id'][:12]}: {record['outcome']}, "
            f"{record['talk_s']:.0f} s, {record['counters']['frames_out']} agent frames played, "
            f"{record['counters']['underruns']} underruns, "
            f"{record['counters']['frames_in']} caller frames in"
        )
    return measured


def probe_run(args: argparse.Namespace, workdir: Path, pcap: Path, hold_s: float) -> Usage:
    log = workdir / "probe.log"
    probe = [
        sys.executable, "-m", "gateway.adapters.sip.probe", "answer", "--calls", str(CALLS),
        "--max-calls", str(CALLS), "--seconds", str(hold_s + 10), "--timeout", str(hold_s + 60),
    ]  # fmt: skip

    def events(name: str) -> list[dict[str, object]]:
        lines = log.read_text(errors="replace").splitlines() if log.exists() else []
        found = []
        for line in lines:
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    event = json.loads(line)
                    if event.get("event") == name:
                        found.append(event)
        return found

    with process(probe, log) as answerer:
        wait_for(lambda: bool(events("ready")), 20, "the probe")
        port = int(str(events("ready")[0]["port"]))
        with process(sipp(port, pcap, hold_s, workdir), workdir / "sipp-probe.log") as caller:
            return measure(answerer.pid, lambda: len(events("media_active")) == CALLS, args, caller)


def _missing() -> str:
    """Why this benchmark cannot run here ("" if it can)."""
    if shutil.which("sipp") is None:
        return "needs SIPp (apt-get install sip-tester)"
    try:
        socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP).close()
    except PermissionError:
        return "SIPp plays pcaps through a raw socket: run as root or with CAP_NET_RAW"
    return ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=20.0, help="measuring window")
    parser.add_argument("--settle", type=float, default=3.0, help="wait after the calls are up")
    parser.add_argument("--keep", action="store_true", help="keep the logs' directory")
    args = parser.parse_args()
    missing = _missing()
    if missing:
        print(f"bench/gateway_cpu.py skipped: {missing}")
        return 0
    hold_s = args.settle + args.seconds + 3
    workdir = Path(tempfile.mkdtemp(prefix="voicegw-bench-"))
    try:
        pcap = workdir / "silence.pcap"
        subprocess.run(
            [sys.executable, str(REPO / "deploy" / "sipp" / "make_pcap.py"), "silence",
             "--ms", str(int((hold_s + 5) * 1000)), "-o", str(pcap)],
            check=True, capture_output=True,
        )  # fmt: skip
        gateway = gateway_run(args, workdir, pcap, hold_s)
        bare = probe_run(args, workdir, pcap, hold_s)
    finally:
        if args.keep:
            print(f"logs in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"{CALLS} concurrent calls, {args.seconds:.0f} s window, utime+stime of the process:")
    for name, measured in (("gateway (voicegw serve)", gateway), ("bare pjsua2 (probe)", bare)):
        threads_text = ", ".join(
            f"{thread} {pct:.2f}"
            for thread, pct in sorted(measured.by_thread.items(), key=lambda t: -t[1])
            if pct >= 0.05
        )
        print(
            f"  {name}: {measured.percent:.2f} % of a core, {measured.percent / CALLS:.2f} % per "
            f"call (threads: {threads_text})"
        )
    ratio = gateway.percent / bare.percent if bare.percent else float("inf")
    verdict = "meets" if ratio <= TARGET_RATIO else "MISSES"
    print(f"ratio gateway / bare: {ratio:.2f}x ({verdict} the {TARGET_RATIO}x target)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
