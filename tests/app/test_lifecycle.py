"""The drain both gateway processes share (gateway.app.lifecycle.CallService)."""

from __future__ import annotations

import asyncio
import time

from structlog.testing import capture_logs

from gateway.app.lifecycle import CallService


class FakeCall:
    """A call that lasts ``length_s`` unless ended; ending it takes ``goodbye_s``."""

    def __init__(self, length_s: float, goodbye_s: float) -> None:
        self.length_s, self.goodbye_s = length_s, goodbye_s
        self.done = asyncio.Event()
        self.outcome = ""

    async def run(self) -> None:
        try:
            await asyncio.wait_for(self.done.wait(), self.length_s)
        except TimeoutError:
            self.outcome = "finished"
        except asyncio.CancelledError:
            self.outcome = "cancelled"
            raise

    async def end_politely(self) -> None:
        await asyncio.sleep(self.goodbye_s)
        self.outcome = "ended_politely"
        self.done.set()


class FakeService(CallService):
    def __init__(self, drain_timeout_s: float) -> None:
        super().__init__(drain_timeout_s)
        self.calls: list[FakeCall] = []
        self.events: list[str] = []

    async def start(self) -> None:
        self.events.append("started")

    def live_calls(self) -> list[FakeCall]:
        return [c for c in self.calls if not c.outcome]

    def _draining(self) -> None:
        self.events.append(f"draining={self.draining}")

    async def _close(self) -> None:
        self.events.append(f"closed with {len(self.live_calls())} live")

    def take(self, call: FakeCall) -> None:
        self.calls.append(call)
        self._spawn(call.run())


async def test_short_calls_finish_and_the_rest_are_ended_together_at_the_deadline() -> None:
    service = FakeService(drain_timeout_s=0.3)
    short, long1, long2 = FakeCall(0.1, 0.0), FakeCall(30, 0.4), FakeCall(30, 0.4)
    for call in (short, long1, long2):
        service.take(call)
    started = time.monotonic()
    await service.shutdown()
    took = time.monotonic() - started
    assert short.outcome == "finished"  # the deadline's timeout did not cancel it
    assert long1.outcome == long2.outcome == "ended_politely"
    assert 0.65 <= took < 1.0, took  # deadline + one goodbye: the two said at the same time
    assert service.events == ["draining=True", "closed with 0 live"]


async def test_no_live_calls_closes_at_once() -> None:
    service = FakeService(drain_timeout_s=5)
    started = time.monotonic()
    await service.shutdown()
    assert time.monotonic() - started < 0.5
    assert service.events == ["draining=True", "closed with 0 live"]


async def test_run_until_signalled_starts_then_drains_on_request() -> None:
    service = FakeService(drain_timeout_s=1)
    running = asyncio.ensure_future(service.run_until_signalled())
    await asyncio.sleep(0.05)
    assert service.events == ["started"]
    service.request_stop()
    await asyncio.wait_for(running, 5)
    assert service.events == ["started", "draining=True", "closed with 0 live"]


class BrokenGoodbye(FakeCall):
    async def end_politely(self) -> None:
        self.done.set()  # the call does end (here), but its goodbye raised
        raise RuntimeError("the goodbye could not be sent")


async def test_a_goodbye_that_fails_is_logged_and_the_others_are_still_ended() -> None:
    """One call's end_politely raising does not stop the drain; the failure is logged."""
    service = FakeService(drain_timeout_s=0.1)
    broken, fine = BrokenGoodbye(30, 0.0), FakeCall(30, 0.0)
    for call in (broken, fine):
        service.take(call)
    with capture_logs() as logs:
        await service.shutdown()
    assert fine.outcome == "ended_politely"
    [failed] = [e for e in logs if e["event"] == "end_politely_failed"]
    assert "the goodbye could not be sent" in failed["error"]
    assert failed["log_level"] == "error"
