"""Idle cost of ``voicegw serve --workers N``: CPU of each idle worker and of the supervisor.

Run: ``.venv/bin/python bench/workers_idle.py [--workers 8] [--seconds 30]``. No calls and no
emulator are needed (a worker connects to the Realtime API only when a call comes). CPU is
summed over every thread of a process from ``/proc/<pid>/task/*/schedstat`` (nanoseconds), so
hundredths of a percent are resolved. Target: at most 0.2 % of one core per idle worker.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from gateway.app.loadtest_procs import free_port_block  # noqa: E402

TARGET = 0.2


def cpu_ns(pid: int) -> int:
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError):
            total += int(Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()[0])
    return total


def readyz(port: int) -> dict[str, object]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as answer:
            return dict(json.loads(answer.read()))
    except OSError:
        return {}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="voicegw-idle-"))
    sip, http = free_port_block(args.workers), free_port_block(args.workers + 1)
    rtp = free_port_block(args.workers * 20)
    command = [
        sys.executable, "-m", "gateway.app.cli", "--log-format", "json", "serve",
        "--config", str(REPO / "agents_config" / "front_desk.yaml"), "--workers", str(args.workers),
        "--sip-host", "127.0.0.1", "--sip-port", str(sip), "--http-port", str(http),
        "--rtp-port", str(rtp), "--rtp-port-range", str(args.workers * 20),
        "--realtime-url", "ws://127.0.0.1:9/v1/realtime", "--cdr-dir", str(workdir / "cdr"),
    ]  # fmt: skip
    with (workdir / "supervisor.log").open("wb") as log:
        supervisor = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            workers = readyz(http).get("workers") or []
            if (
                isinstance(workers, list)
                and sum(1 for w in workers if w.get("ready")) == args.workers
            ):
                break
            time.sleep(0.5)
        else:
            print("the workers did not become ready")
            return 1
        time.sleep(3.0)  # start-up work settles
        pids = {f"worker {w['index']}": int(w["pid"]) for w in workers}
        pids["supervisor"] = supervisor.pid
        before = {name: cpu_ns(pid) for name, pid in pids.items()}
        started = time.monotonic()
        time.sleep(args.seconds)
        wall = time.monotonic() - started
        usage = {
            name: 100 * (cpu_ns(pid) - before[name]) / 1e9 / wall for name, pid in pids.items()
        }
    finally:
        supervisor.send_signal(signal.SIGTERM)
        supervisor.wait(60)
    print(f"{args.workers} idle workers, {args.seconds:.0f} s, % of one core (all threads):")
    for name, pct in usage.items():
        print(f"  {name:12} {pct:.3f} %")
    worst = max(v for k, v in usage.items() if k.startswith("worker"))
    verdict = "meets" if worst <= TARGET else "MISSES"
    print(f"worst idle worker {worst:.3f} % ({verdict} the {TARGET} % target)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
