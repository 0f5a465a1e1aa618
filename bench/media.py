"""SIP media path cost: our clock-thread callback work per 20 ms frame vs. the naive pjsua2 way.

Run: ``.venv/bin/python bench/media.py`` (``--no-calls`` skips the real-call part).

1. Per frame, with real pjsua2 ``MediaFrame`` / ``ByteVector`` objects built in-process:
   uplink = ``CallMediaPort.onFrameReceived`` (frame -> bytes -> UplinkQueue), downlink =
   ``CallMediaPort.onFrameRequested`` (PlayoutRing -> frame), each beside the naive path
   (``bytes(frame.buf)`` / ``frame.buf = ByteVector(data)``). A fresh frame per callback, as
   pjsua2 makes one; its construction cost is measured apart and subtracted. Target: <= 10 us.
2. The uplink wakeup choice: what ``call_soon_threadsafe`` costs the clock thread per frame
   (the edge-triggered design) — the loop-timer design costs it nothing.
3. Whole-process CPU (every thread, from /proc/<pid>/task/*/schedstat) of probe processes:
   idle, and during real calls on loopback: one call (uplink drained every 20 ms, then every
   100 ms), then four calls into one process. The probe's loop only records what it hears, so
   this is the SIP/media floor a gateway worker builds on.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import threading
import time
import timeit
from collections.abc import Callable
from pathlib import Path

import pjsua2 as pj

from gateway.adapters.sip.bytevec import select_frame_access
from gateway.adapters.sip.media import PlayoutRing, UplinkQueue
from gateway.adapters.sip.port import CallMediaPort
from gateway.adapters.sip.tones import tone_frames
from gateway.app.loadtest_procs import schedstat

TARGET_US = 10.0
N = 20_000
REPO = Path(__file__).resolve().parent.parent
FRAME = tone_frames(440, 20)[0]
AUDIO = pj.PJMEDIA_FRAME_TYPE_AUDIO


def _us(fn: Callable[[], object], number: int = N) -> float:
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def _received() -> pj.MediaFrame:
    frame = pj.MediaFrame()
    frame.type = AUDIO
    frame.buf = pj.ByteVector(FRAME)
    frame.size = 320
    return frame


def _requested() -> pj.MediaFrame:
    frame = pj.MediaFrame()
    frame.size = 320
    return frame


def per_frame() -> list[tuple[str, float, float]]:
    """(name, ours us, naive us) per 20 ms frame, frame construction subtracted."""
    port = CallMediaPort(UplinkQueue(10**9), PlayoutRing(10**9), select_frame_access())
    naive_up, naive_ring = UplinkQueue(10**9), PlayoutRing(10**9)
    for ring in (port.ring, naive_ring):
        for _ in range(N * 6 + 10):
            ring.push(FRAME, "item", 160)
    received = [_received() for _ in range(64)]  # prebuilt: a vector copy per frame is pjsua2's

    def ours_up() -> None:
        port.onFrameReceived(received[0])

    def naive_up_fn() -> None:
        naive_up.put(bytes(received[0].buf))

    def ours_down() -> None:
        port.onFrameRequested(_requested())

    def naive_down() -> None:
        frame = _requested()
        frame.buf = pj.ByteVector(naive_ring.next_frame())
        frame.type = AUDIO

    base_down = _us(_requested)
    rows = [
        ("uplink (frame->queue)", _us(ours_up), _us(naive_up_fn, 2000)),
        ("downlink (ring->frame)", _us(ours_down) - base_down, _us(naive_down) - base_down),
    ]
    assert port.errors == 0
    return rows


def wakeup_cost() -> tuple[float, float]:
    """Clock-thread cost of call_soon_threadsafe per frame, and of an uplink put, in us."""
    loop = asyncio.new_event_loop()
    done = threading.Event()
    results: list[float] = []
    queue = UplinkQueue(10**9)

    def clock() -> None:
        results.append(_us(lambda: loop.call_soon_threadsafe(int), 5000))
        results.append(_us(lambda: queue.put(FRAME), 5000))
        loop.call_soon_threadsafe(loop.stop)
        done.set()

    threading.Thread(target=clock).start()
    loop.run_forever()
    done.wait()
    loop.close()
    return results[0], results[1]


# --- whole-process CPU of probe processes ----------------------------------------------------


class Probe:
    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gateway.adapters.sip.probe", *args],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.events: list[dict[str, object]] = []

    def wait_for(self, name: str) -> dict[str, object]:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("{"):
                event = json.loads(line)
                self.events.append(event)
                if event["event"] == name:
                    return event
        raise RuntimeError(f"probe ended before {name}")

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def _cpu_percent(pids: list[int], seconds: float) -> list[float]:
    start = [schedstat(p)[0] for p in pids]
    t0 = time.monotonic()
    time.sleep(seconds)
    wall = time.monotonic() - t0
    return [100 * (schedstat(p)[0] - s) / 1e9 / wall for p, s in zip(pids, start, strict=True)]


def idle_cpu(seconds: float) -> float:
    probe = Probe("answer", "--timeout", str(seconds + 30))
    try:
        probe.wait_for("ready")
        time.sleep(1)
        return _cpu_percent([probe.proc.pid], seconds)[0]
    finally:
        probe.close()


def call_cpu(calls: int, seconds: float, drain_ms: int = 20) -> tuple[float, list[float]]:
    """CPU % of the answering process with ``calls`` calls, and of each calling process."""
    gw = Probe(
        "answer", "--calls", str(calls), "--timeout", str(seconds + 30), "--drain-ms", str(drain_ms)
    )
    callers: list[Probe] = []
    try:
        port = gw.wait_for("ready")["port"]
        for _ in range(calls):
            caller = Probe(
                "call", "--to", f"sip:gw@127.0.0.1:{port}", "--seconds", str(seconds + 4)
            )
            caller.wait_for("media_active")
            callers.append(caller)
        time.sleep(1)
        cpu = _cpu_percent([gw.proc.pid] + [c.proc.pid for c in callers], seconds)
        return cpu[0], cpu[1:]
    finally:
        for probe in [*callers, gw]:
            probe.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-calls", action="store_true", help="skip the real-call part")
    parser.add_argument("--seconds", type=float, default=10.0, help="CPU measuring window")
    args = parser.parse_args()

    print(f"{'per 20 ms frame':<24}{'ours us':>9}{'naive us':>10}{'ratio':>8}")
    worst = 0.0
    for name, ours, naive in per_frame():
        worst = max(worst, ours)
        print(f"{name:<24}{ours:>9.2f}{naive:>10.2f}{naive / ours:>8.0f}x")
    verdict = "meets" if worst <= TARGET_US else "MISSES"
    print(f"slowest direction {worst:.2f} us ({verdict} the {TARGET_US:.0f} us target)")

    wake, put = wakeup_cost()
    print(f"clock thread: call_soon_threadsafe {wake:.2f} us/frame vs uplink put {put:.2f} us")

    if not args.no_calls:
        window = args.seconds
        print(f"idle probe process: {idle_cpu(window):.3f} % of a core ({window:.0f} s)")
        for calls, drain_ms in ((1, 20), (1, 100), (4, 20)):
            gw, callers = call_cpu(calls, window, drain_ms)
            mean_caller = sum(callers) / len(callers)
            print(
                f"{calls} call(s), uplink drained every {drain_ms} ms: answering process "
                f"{gw:.2f} % of a core ({gw / calls:.2f} % per call); "
                f"each calling process {mean_caller:.2f} %"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
