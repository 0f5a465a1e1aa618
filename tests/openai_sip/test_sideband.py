"""Attaching to a call's sideband (gateway/adapters/sideband.py), with fake connections."""

from __future__ import annotations

import json

import pytest

from gateway.adapters.realtime_ws import RealtimeEndpoint
from gateway.adapters.sideband import SidebandConnector
from gateway.runtime.ports import Connection, ConnectionLost

ENDPOINT = RealtimeEndpoint(base_url="ws://x/v1/realtime", call_id="rtc_1", open_timeout_s=0.2)


class FakeConnection:
    def __init__(self, *messages: str) -> None:
        self.messages = list(messages)
        self.closed = False

    async def send(self, message: str) -> None:
        pass

    async def recv(self) -> str | bytes:
        if not self.messages:
            raise ConnectionLost("socket closed (None: no close frame)")
        return self.messages.pop(0)

    async def close(self) -> None:
        self.closed = True


def _opener(conn: FakeConnection | ConnectionLost):  # type: ignore[no-untyped-def]
    async def open_(endpoint: RealtimeEndpoint) -> Connection:
        assert endpoint.call_id == "rtc_1" and endpoint.model is None
        if isinstance(conn, ConnectionLost):
            raise conn
        return conn

    return open_


CREATED = json.dumps({"type": "session.created", "event_id": "e1", "session": {}})
STARTED = json.dumps({"type": "output_audio_buffer.started", "event_id": "e2", "response_id": "r"})


async def test_an_attach_confirmed_by_session_created_replays_it_and_reports_playout() -> None:
    """The peeked session.created is the first thing the runtime reads; playout events are
    reported to on_event as they pass."""
    seen: list[str] = []
    conn = FakeConnection(CREATED, STARTED)
    connector = SidebandConnector(ENDPOINT, opener=_opener(conn), on_event=seen.append)
    attached = await connector()
    assert await attached.recv() == CREATED
    assert await attached.recv() == STARTED
    assert seen == ["output_audio_buffer.started"] and connector.attaches == 1


@pytest.mark.parametrize(
    "refusal",
    [
        FakeConnection(
            json.dumps({"type": "error", "error": {"code": "call_not_found", "message": "gone"}})
        ),
        ConnectionLost("handshake refused with HTTP 404", code=404),
    ],
    ids=["error-event", "http-404"],
)
async def test_a_finished_call_is_final(refusal: FakeConnection | ConnectionLost) -> None:
    """call_not_found (or a 404 handshake) means the call is over: a final ConnectionLost,
    and every later attach fails at once without opening a socket."""
    connector = SidebandConnector(ENDPOINT, opener=_opener(refusal))
    with pytest.raises(ConnectionLost) as caught:
        await connector()
    assert caught.value.final and connector.call_gone
    with pytest.raises(ConnectionLost) as again:
        await connector()
    assert again.value.final


async def test_other_failures_may_be_retried() -> None:
    """A socket that closes before session.created, or another error, is not final."""
    for conn in (
        FakeConnection(),
        FakeConnection(json.dumps({"type": "error", "error": {"code": "x"}})),
    ):
        connector = SidebandConnector(ENDPOINT, opener=_opener(conn))
        with pytest.raises(ConnectionLost) as caught:
            await connector()
        assert not caught.value.final and not connector.call_gone
