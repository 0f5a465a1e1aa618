"""Attaching to a registered call with ?call_id=: accepted config, re-attach, refusals."""

from __future__ import annotations

import json

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from gateway.emulator import CallRegistry, Faults
from gateway.emulator.schema import ClientEventError
from tests.emulator.client import AUTH, check_server_event, connect
from tests.emulator.conftest import StartEmulator

ACCEPTED = {
    "type": "realtime",
    "model": "gpt-realtime-2.1",
    "instructions": "You answer the front desk phone.",
    "audio": {"output": {"voice": "cedar"}},
}


async def test_attach_by_call_id_uses_the_accepted_config(emulator: StartEmulator) -> None:
    """session.created on attach shows what the call was accepted with."""
    server = await emulator()
    call_id = server.registry.register("rtc_test_1", ACCEPTED)
    async with connect(server.url, f"?call_id={call_id}") as client:
        session = client.events[0]["session"]
    assert session["model"] == "gpt-realtime-2.1"
    assert session["instructions"] == "You answer the front desk phone."
    assert session["audio"]["output"]["voice"] == "cedar"


async def test_a_call_keeps_its_session_across_attachments(emulator: StartEmulator) -> None:
    """Re-attaching after a disconnect finds the same session and conversation."""
    server = await emulator()
    call_id = server.registry.register()
    assert call_id.startswith("rtc_") and call_id in server.registry
    async with connect(server.url, f"?call_id={call_id}") as client:
        first_id = client.events[0]["session"]["id"]
        await client.say_text("hello")
        await client.until("response.done")
    async with connect(server.url, f"?call_id={call_id}") as client:
        assert client.events[0]["session"]["id"] == first_id
    slot = server.registry.get(call_id)
    assert slot is not None and slot.session is not None
    assert [i.role for i in slot.session.conversation.items] == ["user", "assistant"]
    server.registry.end(call_id)
    assert server.registry.call_ids == []


async def _refused(url: str) -> tuple[dict[str, object], int | None]:
    async with websockets.connect(url, additional_headers=AUTH) as ws:
        event = json.loads(await ws.recv())
        check_server_event(event)
        with pytest.raises(ConnectionClosed):
            await ws.recv()
        return event["error"], ws.close_code


async def test_unknown_and_busy_calls_are_refused(emulator: StartEmulator) -> None:
    """An unknown call_id, or a second socket on an attached call: error, then close 4000."""
    server = await emulator()
    error, code = await _refused(server.url + "?call_id=rtc_nope")
    assert code == 4000 and error["code"] == "call_not_found"
    call_id = server.registry.register()
    async with connect(server.url, f"?call_id={call_id}"):
        error, code = await _refused(f"{server.url}?call_id={call_id}")
    assert code == 4000 and error["code"] == "call_already_attached"


def test_registering_an_invalid_session_says_what_is_wrong() -> None:
    """The accepted session is validated like a session.update (beta fields refused)."""
    with pytest.raises(ClientEventError, match=r"Unknown parameter: 'session.voice'\."):
        CallRegistry().register(session={"type": "realtime", "voice": "alloy"})


async def test_a_dropped_call_can_be_re_attached(emulator: StartEmulator) -> None:
    """After a drop fault the call's session lives on; the drop timer restarts per connection."""
    server = await emulator(faults=Faults(drop_after_s=0.3))
    call_id = server.registry.register()
    async with connect(server.url, f"?call_id={call_id}") as client:
        await client.say_text("remember me")
        await client.until("response.done")
        with pytest.raises(ConnectionClosed):
            await client.recv(within=3)
    async with connect(server.url, f"?call_id={call_id}") as client:
        opened = client.arrival[0]
        await client.update({})  # the new connection works ...
        with pytest.raises(ConnectionClosed):
            await client.recv(within=3)  # ... until its own drop time
        assert client.arrival[-1] - opened < 0.3
    slot = server.registry.get(call_id)
    assert slot is not None and slot.session is not None
    assert slot.session.conversation.items[0].text == "remember me"
