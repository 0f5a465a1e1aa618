"""Fixtures: an in-process emulator on an ephemeral loopback port, fast-paced for tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from gateway.emulator import EmulatorServer, Pace, Scenario

FAST = Pace(chunk_ms=200, gap_ms=2, latency_ms=0)
"""Audio at 100x real time, no model latency: tests wait for nothing."""

StartEmulator = Callable[..., Awaitable[EmulatorServer]]


@pytest.fixture
async def emulator() -> AsyncIterator[StartEmulator]:
    """Start emulators (``await emulator(scenario, **options)``); all are stopped afterwards."""
    running: list[EmulatorServer] = []

    async def start(scenario: Scenario | None = None, **options: Any) -> EmulatorServer:
        options.setdefault("pace", FAST)
        options.setdefault("seed", 7)
        server = EmulatorServer(scenario, **options)
        await server.start()
        running.append(server)
        return server

    yield start
    for server in running:
        await server.stop()
