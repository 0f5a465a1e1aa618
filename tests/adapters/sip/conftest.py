"""Probe processes for the pjsua2 integration tests: start, read events, always clean up.

Each probe is a separate process with its own pjsua2 endpoint on a free loopback UDP port
(``port=0``), talking JSON lines on stdout (pjlib's own log lines there are skipped).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.conftest import REPO

Event = dict[str, Any]


class Peer:
    """A running probe process and the events it has printed so far."""

    def __init__(self, proc: asyncio.subprocess.Process, args: tuple[str, ...]) -> None:
        self.proc = proc
        self.args = args
        self.events: list[Event] = []
        self.lines: list[str] = []

    @property
    def port(self) -> int:
        return int(self.first("ready")["port"])

    def first(self, name: str) -> Event:
        """The first ``name`` event read so far (fails with the probe's output if none)."""
        for event in self.events:
            if event["event"] == name:
                return event
        raise AssertionError(f"no {name!r} event from the probe:\n{self.output()}")

    def all(self, name: str) -> list[Event]:
        return [e for e in self.events if e["event"] == name]

    async def _next_event(self) -> Event | None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            text = line.decode(errors="replace").rstrip()
            self.lines.append(text)
            if text.startswith("{"):
                event: Event = json.loads(text)
                self.events.append(event)
                return event
        return None

    async def expect(self, name: str, within: float = 10.0) -> Event:
        """The first ``name`` event, reading on until it arrives (or failing with the output)."""
        for event in self.events:
            if event["event"] == name:
                return event
        async with asyncio.timeout(within):
            while (event := await self._next_event()) is not None:
                if event["event"] == name:
                    return event
        raise AssertionError(f"probe ended without {name!r}:\n" + "\n".join(self.lines[-40:]))

    async def finish(self, within: float = 15.0) -> int:
        """Read everything until the probe exits; its exit status."""
        async with asyncio.timeout(within):
            while await self._next_event() is not None:
                pass
            return await self.proc.wait()

    def output(self) -> str:
        return "\n".join(self.lines)


class Peers:
    """Starts probes; the fixture kills whatever is still running at the end of a test."""

    def __init__(self) -> None:
        self.running: list[Peer] = []

    async def start(self, *args: str) -> Peer:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "gateway.adapters.sip.probe",
            *args,
            cwd=REPO,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        peer = Peer(proc, args)
        self.running.append(peer)
        await peer.expect("ready")
        return peer

    async def close(self) -> None:
        for peer in self.running:
            if peer.proc.returncode is None:
                peer.proc.kill()
                with contextlib.suppress(ProcessLookupError):
                    await peer.proc.wait()


@pytest.fixture
async def peers() -> AsyncIterator[Peers]:
    """Start probe processes; every one still running is killed at teardown."""
    group = Peers()
    try:
        yield group
    finally:
        await group.close()
