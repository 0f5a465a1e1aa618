"""Idle cost of ``voicegw serve --workers N``: CPU of each idle worker and of the supervisor.

Run: ``.venv/bin/python bench/workers_idle.py [--workers 8] [--seconds 30]``. No calls and no
emulator are needed (a worker connects to the Realtime API only when a call comes). CPU is
summed over every thread of a process from ``/proc/<pid>/task/*/schedstat`` (nanoseconds), so
hundredths of a percent are resolved. Target: at most 0.2 % of one core per idle worker.

What an idle process costs is mostly what the host charges per wake-up, which varies from day
to day on a VM (0.02-0.05 % per worker on some days, 0.12-0.34 % on others, same code). So the
figures come with each process's wake-ups per second, and with a reference measured in the same
window: a bare Python process that only wakes 4 times a second. The behaviour the code controls,
how often an idle worker wakes, is what tests/scale/test_workers.py asserts.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from gateway.app.loadtest_procs import free_port_block, schedstat  # noqa: E402

TARGET = 0.2


# A bare Python process that only wakes 4 times a second (about an idle worker's rate): what
# this host charges for the wake-ups alone, measured in the same window.
REFERENCE = """
import asyncio
async def main():
    while True:
        await asyncio.sleep(0.25)
asyncio.run(main())
"""


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
    reference = subprocess.Popen([sys.executable, "-c", REFERENCE])
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
        pids["reference"] = reference.pid
        before = {name: schedstat(pid) for name, pid in pids.items()}
        started = time.monotonic()
        time.sleep(args.seconds)
        wall = time.monotonic() - started
        after = {name: schedstat(pid) for name, pid in pids.items()}
    finally:
        reference.kill()
        supervisor.send_signal(signal.SIGTERM)
        supervisor.wait(60)
    usage = {name: 100 * (after[name][0] - before[name][0]) / 1e9 / wall for name in pids}
    wakes = {name: (after[name][1] - before[name][1]) / wall for name in pids}
    print(f"{args.workers} idle workers, {args.seconds:.0f} s, % of one core (all threads):")
    for name in pids:
        print(f"  {name:12} {usage[name]:.3f} %  {wakes[name]:5.1f} wake-ups/s")
    print("  (reference: a bare Python process that only sleeps 0.25 s at a time)")
    worst = max(v for k, v in usage.items() if k.startswith("worker"))
    verdict = "meets" if worst <= TARGET else "MISSES"
    print(f"worst idle worker {worst:.3f} % ({verdict} the {TARGET} % target)")
    per_wake = {n: 10_000 * usage[n] / wakes[n] for n in pids if wakes[n] > 0}
    workers = [v for k, v in per_wake.items() if k.startswith("worker")]
    if "reference" in per_wake and workers:
        print(
            f"this host charges {per_wake['reference']:.0f} us per wake-up of the reference; "
            f"a worker's wake-ups cost {min(workers):.0f}-{max(workers):.0f} us each"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
