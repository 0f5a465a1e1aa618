"""Helpers for runtime tests: run a session in the background, collect its events, fake a player."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from gateway.core.agents.agent import CallContext, RealtimeAgent
from gateway.runtime import events as ev
from gateway.runtime.ports import Connector, SessionSettings
from gateway.runtime.session import RealtimeSession

E = TypeVar("E")

CTX = CallContext(call_id="call-test", caller="+441234", dialed="100")


@dataclass
class FakePlayer:
    """A PlayoutSink the test plays by hand: ``play(n)`` hands n bytes to the 'caller'."""

    bytes_per_ms: int = 8
    queue: list[tuple[str, int]] = field(default_factory=list)
    unreported: dict[str, int] = field(default_factory=dict)
    heard: dict[str, int] = field(default_factory=dict)
    finished: list[str] = field(default_factory=list)
    gated: list[tuple[str, int, int]] = field(default_factory=list)
    releases: int = 0

    def push(self, item_id: str, audio: bytes) -> None:
        self.queue.append((item_id, len(audio)))

    def play(self, nbytes: int) -> None:
        while nbytes and self.queue:
            item, size = self.queue[0]
            take = min(size, nbytes)
            self.unreported[item] = self.unreported.get(item, 0) + take
            self.heard[item] = self.heard.get(item, 0) + take
            nbytes -= take
            if take == size:
                self.queue.pop(0)
            else:
                self.queue[0] = (item, size - take)

    def play_all(self) -> None:
        self.play(sum(n for _, n in self.queue))

    def flush(self) -> dict[str, int]:
        self.queue.clear()
        return self.take_played()

    def take_played(self) -> dict[str, int]:
        played, self.unreported = self.unreported, {}
        return played

    def pending_ms(self) -> int:
        return sum(n for _, n in self.queue) // self.bytes_per_ms

    def finish(self, item_id: str) -> None:
        self.finished.append(item_id)

    gating: bool = False

    def gate_text(self, item_id: str, safe_chars: int, total_chars: int) -> None:
        self.gated.append((item_id, safe_chars, total_chars))

    def gate_text_done(self, item_id: str, total_chars: int, clean: bool) -> None:
        self.gated.append((item_id, total_chars, total_chars))

    def release_all(self) -> None:
        self.releases += 1


class Running:
    """A session running in the background, with every event it emitted."""

    def __init__(self, session: RealtimeSession) -> None:
        self.session = session
        self.events: list[Any] = []
        self._changed = asyncio.Event()

    async def collect(self) -> None:
        async for event in self.session.events():
            self.events.append(event)
            self._changed.set()

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]

    async def wait_for(
        self, kind: type[E], where: Callable[[E], bool] = lambda _: True, within: float = 3.0
    ) -> E:
        async with asyncio.timeout(within):
            while True:
                for event in self.of(kind):
                    if where(event):
                        return event
                self._changed.clear()
                await self._changed.wait()


async def until(predicate: Callable[[], bool], within: float = 3.0) -> None:
    """Wait until ``predicate()`` holds (the fake server runs on the same loop)."""
    async with asyncio.timeout(within):
        while not predicate():  # noqa: ASYNC110  (test polling of plain state)
            await asyncio.sleep(0.005)


@contextlib.asynccontextmanager
async def running(
    agent: RealtimeAgent,
    connector: Connector,
    settings: SessionSettings | None = None,
    *,
    playout: Any = None,
) -> AsyncIterator[Running]:
    session = RealtimeSession(agent, CTX, connector, settings, playout=playout)
    run = Running(session)
    async with asyncio.TaskGroup() as tg:
        tg.create_task(session.run())
        tg.create_task(run.collect())
        try:
            yield run
        finally:
            await session.close()


def failed(run: Running) -> list[ev.SessionFailed]:
    return run.of(ev.SessionFailed)
