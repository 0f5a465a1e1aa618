"""Added first-audio latency of guarded playout, on vs off, at 20 concurrent calls.

Twenty RealtimeSessions talk to the in-process emulator (its default pace: audio ten times
faster than real time, transcript deltas with it). Each has a real PlayoutRing drained by one
clock thread every 20 ms, as pjmedia does. For every answer we measure the time from its first
frame entering the ring to its first frame played: the delay guarded playout adds (the ring's
own 20 ms tick granularity is common to both runs). Target: no more than the configured maximum
hold (300 ms), median well under it.

Run: ``.venv/bin/python bench/guarded_playout.py``.
"""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from typing import Any

from gateway.adapters.realtime_ws import RealtimeEndpoint, connector
from gateway.adapters.sip.media import SILENCE, PlayoutRing
from gateway.app.media_bridge import PlayoutFeeder
from gateway.core.agents.agent import CallContext, RealtimeAgent
from gateway.core.agents.guardrails import MaxTurnLength, NoHumanClaim, NoLongDigits, NoUrls
from gateway.core.audio import AudioCodec
from gateway.emulator.scenario import parse_scenario
from gateway.emulator.server import EmulatorServer
from gateway.observability.logging import configure_logging
from gateway.runtime.ports import SessionSettings
from gateway.runtime.session import RealtimeSession

CALLS = 20
MAX_HOLD_MS = 300
SCENARIO = """
greeting: "Thanks for calling. Our opening hours today are nine to five, and you can also reach
  us by e-mail. How can I help you?"
"""


class Clock(threading.Thread):
    """pjmedia's clock: every 20 ms, one frame from every ring; notes each first played frame."""

    def __init__(self, rings: list[PlayoutRing]) -> None:
        super().__init__(daemon=True)
        self.rings = rings
        self.first_played: dict[int, float] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        start, tick = time.monotonic(), 0
        while not self.stop.is_set():
            tick += 1
            time.sleep(max(0.0, start + tick * 0.02 - time.monotonic()))
            for n, ring in enumerate(self.rings):
                if ring.next_frame() != SILENCE and n not in self.first_played:
                    self.first_played[n] = time.monotonic()


async def _run(guarded: bool) -> list[float]:
    async with EmulatorServer(parse_scenario(SCENARIO)) as emulator:
        rings = [PlayoutRing(max_hold_ms=MAX_HOLD_MS) for _ in range(CALLS)]
        feeders = [PlayoutFeeder(r, AudioCodec.PCMU, guarded=guarded) for r in rings]
        clock = Clock(rings)
        clock.start()
        endpoint = RealtimeEndpoint(base_url=emulator.url, model="gpt-realtime", api_key="bench")
        settings = SessionSettings(guarded_playout=guarded)
        rails: list[Any] = [NoUrls(), NoLongDigits(), MaxTurnLength(), NoHumanClaim()]
        sessions = [
            RealtimeSession(
                RealtimeAgent(name="desk", instructions="Desk.", output_guardrails=rails),
                CallContext(call_id=f"bench-{n}"),
                connector(endpoint),
                settings,
                playout=feeders[n],
            )
            for n in range(CALLS)
        ]
        async with asyncio.TaskGroup() as tg:
            for session in sessions:
                tg.create_task(session.run())
            deadline = time.monotonic() + 20
            while len(clock.first_played) < CALLS and time.monotonic() < deadline:  # noqa: ASYNC110  (a thread fills it)
                await asyncio.sleep(0.05)
            for session in sessions:
                await session.close()
        clock.stop.set()
        return [
            (clock.first_played[n] - (feeders[n].first_push_at or 0.0)) * 1000
            for n in range(CALLS)
            if n in clock.first_played
        ]


def main() -> int:
    configure_logging("console", level="warning")
    off = asyncio.run(_run(guarded=False))
    on = asyncio.run(_run(guarded=True))
    print(f"{CALLS} concurrent calls, first frame queued -> first frame played (ms)")
    print(f"{'':<10}{'median':>8}{'p90':>8}{'max':>8}")
    for name, values in (("off", off), ("guarded", on)):
        p90 = sorted(values)[int(len(values) * 0.9) - 1]
        print(f"{name:<10}{statistics.median(values):>8.1f}{p90:>8.1f}{max(values):>8.1f}")
    added = statistics.median(on) - statistics.median(off)
    worst = max(on) - statistics.median(off)
    print(
        f"added by guarded playout: median {added:.1f} ms, worst {worst:.1f} ms "
        f"(max hold {MAX_HOLD_MS} ms)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
