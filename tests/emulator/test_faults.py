"""Injected faults over loopback: drop, delay, error events, refused handshakes."""

from __future__ import annotations

import time

import pytest
import websockets
from websockets.exceptions import ConnectionClosedError, InvalidStatus

from gateway.emulator import ErrorInjection, Faults, Scenario
from tests.emulator.client import AUTH, connect
from tests.emulator.conftest import StartEmulator


async def test_drop_aborts_the_tcp_connection_without_a_close_frame(
    emulator: StartEmulator,
) -> None:
    """drop_after_s: the socket dies with no close frame (1006), as a lost network would."""
    server = await emulator(faults=Faults(drop_after_s=0.2))
    async with connect(server.url) as client:
        started = time.monotonic()
        with pytest.raises(ConnectionClosedError) as caught:
            await client.recv(within=3)
    assert caught.value.rcvd is None
    assert client.ws.close_code == 1006
    assert 0.15 < time.monotonic() - started < 1.5


async def test_response_delay_holds_back_the_first_output(emulator: StartEmulator) -> None:
    """response_delay_ms: response.created at once, the first output item that much later."""
    server = await emulator(faults=Faults(response_delay_ms=300))
    async with connect(server.url) as client:
        await client.send({"type": "response.create"})
        await client.until("response.created")
        created_at = client.arrival[-1]
        await client.expect("response.output_item.added")
    assert 0.28 < client.arrival[-1] - created_at < 1.0


async def test_error_events_are_injected_and_can_close(emulator: StartEmulator) -> None:
    """errors: an error event at a set time; with close, the socket closes 1011 after it."""
    faults = Faults(
        errors=(
            ErrorInjection(after_s=0.05, code="rate_limit_exceeded", type="rate_limit_error"),
            ErrorInjection(after_s=0.15, close=True),
        )
    )
    server = await emulator(faults=faults)
    async with connect(server.url) as client:
        first = (await client.expect("error"))["error"]
        second = (await client.expect("error"))["error"]
        with pytest.raises(websockets.exceptions.ConnectionClosed):
            await client.recv()
    assert (first["type"], first["code"]) == ("rate_limit_error", "rate_limit_exceeded")
    assert second["type"] == "server_error" and second["event_id"] is None
    assert client.ws.close_code == 1011


async def test_refused_handshakes_then_service(emulator: StartEmulator) -> None:
    """refuse_connections: the first N handshakes get the status (503 + Retry-After)."""
    server = await emulator(faults=Faults(refuse_connections=2))
    for _ in range(2):
        with pytest.raises(InvalidStatus) as caught:
            async with websockets.connect(server.url + "?model=m", additional_headers=AUTH):
                pass
        assert caught.value.response.status_code == 503
        assert caught.value.response.headers["Retry-After"] == "1"
    async with connect(server.url):
        pass


async def test_a_scenario_carries_its_faults(emulator: StartEmulator) -> None:
    """Faults given in the scenario apply when the server gets none of its own."""
    server = await emulator(Scenario(faults=Faults(refuse_connections=-1, refuse_status=502)))
    with pytest.raises(InvalidStatus) as caught:
        async with websockets.connect(server.url + "?model=m", additional_headers=AUTH):
            pass
    assert caught.value.response.status_code == 502


def test_faults_are_validated() -> None:
    """Negative delays and unknown fault names are refused."""
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        Faults(response_delay_ms=-1)
    with pytest.raises(ValueError, match="Extra inputs are not permitted"):
        Faults.model_validate({"explode": True})
