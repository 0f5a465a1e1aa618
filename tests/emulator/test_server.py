"""The WebSocket server: handshake rules, session lifetime, pacing and the latency log."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import websockets
from structlog.testing import capture_logs
from websockets.exceptions import ConnectionClosed, InvalidStatus

from gateway.emulator import EmulatorServer, Pace, Scenario
from tests.emulator.client import (
    AUTH,
    PCMU_SESSION,
    check_server_event,
    connect,
    silence,
    tone,
    ulaw,
    unb64,
)
from tests.emulator.conftest import StartEmulator


async def _refusal(url: str, headers: dict[str, str]) -> tuple[dict[str, object], int, str]:
    """The error event and close code/reason of a connection the server refuses after upgrade."""
    async with websockets.connect(url, additional_headers=headers) as ws:
        event = json.loads(await ws.recv())
        check_server_event(event)
        with pytest.raises(ConnectionClosed):
            await ws.recv()
        assert ws.close_code is not None and ws.close_reason is not None
        return event["error"], ws.close_code, ws.close_reason


async def test_the_beta_header_is_refused_with_close_code_4000(emulator: StartEmulator) -> None:
    """OpenAI-Beta: realtime=v1 -> error beta_api_shape_disabled, then close 4000."""
    server = await emulator()
    error, code, reason = await _refusal(
        server.url + "?model=gpt-realtime", {**AUTH, "OpenAI-Beta": "realtime=v1"}
    )
    assert error["code"] == "beta_api_shape_disabled"
    assert error["message"] == (
        "The Realtime Beta API is no longer supported. Please use /v1/realtime for the GA API."
    )
    assert (code, reason) == (4000, "invalid_request_error.beta_api_shape_disabled")


async def test_a_missing_bearer_token_is_an_error_then_close_3000(
    emulator: StartEmulator,
) -> None:
    """No Authorization header (or not Bearer, or no token): as the live service was seen to
    do, the upgrade succeeds, an error event says so, and the socket closes with code 3000."""
    server = await emulator()
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer "}):
        error, code, reason = await _refusal(server.url + "?model=m", headers)
        assert error == {
            "type": "invalid_request_error",
            "code": None,
            "message": "Missing bearer or basic authentication in header",
            "param": None,
            "event_id": None,
        }
        assert (code, reason) == (3000, "invalid_request_error")
    assert not server.sessions  # refused before any session exists


async def test_other_paths_are_404(emulator: StartEmulator) -> None:
    """Only /v1/realtime is served."""
    server = await emulator()
    with pytest.raises(InvalidStatus) as caught:
        async with websockets.connect(
            server.url.replace("/v1/realtime", "/v1/other"), additional_headers=AUTH
        ):
            pass
    assert caught.value.response.status_code == 404


async def test_model_and_call_id_together_or_neither_are_refused(emulator: StartEmulator) -> None:
    """Both model and call_id, or no model at all: error then close 4000."""
    server = await emulator()
    call_id = server.registry.register()
    error, code, _ = await _refusal(f"{server.url}?model=m&call_id={call_id}", AUTH)
    assert code == 4000 and "both" in str(error["message"])
    error, code, reason = await _refusal(server.url, AUTH)
    assert (code, reason) == (4000, "invalid_request_error.missing_model")
    assert error["code"] == "missing_model"


async def test_sessions_expire_with_session_expired_then_close(emulator: StartEmulator) -> None:
    """At the configured maximum duration: error session_expired, then close 4000."""
    server = await emulator(max_session_s=0.3)
    async with connect(server.url) as client:
        started = time.monotonic()
        event = await client.expect("error", within=3)
        with pytest.raises(ConnectionClosed):
            await client.recv()
    assert 0.25 < time.monotonic() - started < 1.5
    assert event["error"]["code"] == "session_expired"
    assert event["error"]["message"] == "Your session hit the maximum duration of 0.3 seconds."
    assert client.ws.close_code == 4000


async def test_audio_arrives_faster_than_real_time_by_default(emulator: StartEmulator) -> None:
    """With the default pace, seconds of speech arrive in a fraction of their duration."""
    text = "This sentence is long enough to take several seconds to say out loud on a phone."
    server = await emulator(Scenario(greeting=text), pace=Pace())
    async with connect(server.url) as client:
        await client.update(PCMU_SESSION)
        await client.send({"type": "response.create"})
        events = await client.until("response.done", within=10)
    deltas = [
        (at, e)
        for at, e in zip(client.arrival[-len(events) :], events, strict=True)
        if e["type"] == "response.output_audio.delta"
    ]
    audio_s = sum(len(unb64(e["delta"])) for _, e in deltas) / 8000
    took_s = deltas[-1][0] - deltas[0][0]
    assert audio_s > 5
    assert took_s < audio_s / 4
    assert {len(unb64(e["delta"])) for _, e in deltas[:-1]} == {1600}  # 200 ms per delta


async def test_latency_from_end_of_speech_to_first_audio_is_logged(
    emulator: StartEmulator,
) -> None:
    """first_audio_sent carries the time from speech_stopped to the first delta after it."""
    server = await emulator(pace=Pace(chunk_ms=200, gap_ms=2, latency_ms=150))
    with capture_logs() as logs:
        async with connect(server.url) as client:
            await client.update(PCMU_SESSION)
            await client.append(ulaw(tone(300) + silence(300)))
            await client.until("response.output_audio.delta")
    latency = [entry for entry in logs if entry["event"] == "first_audio_sent"]
    assert len(latency) == 1
    assert 140 <= latency[0]["latency_ms"] < 1000
    assert latency[0]["session_id"] == server.sessions[0].id


async def test_the_server_starts_on_an_ephemeral_port_and_stops() -> None:
    """port 0 picks a free port; after stop the port refuses connections."""
    async with EmulatorServer() as server:
        url = server.url
        assert server.port > 0 and url.startswith("ws://127.0.0.1:")
        async with connect(url):
            pass
    with pytest.raises(OSError):
        await asyncio.wait_for(websockets.connect(url + "?model=m", additional_headers=AUTH), 2)


@pytest.mark.parametrize(("compression", "negotiated"), [("deflate", True), (None, False)])
async def test_a_permessage_deflate_offer_is_accepted_or_declined_as_configured(
    emulator: StartEmulator, compression: str | None, negotiated: bool
) -> None:
    """websockets' client offers permessage-deflate (as the openai-agents SDK's does): the
    emulator accepts it by default and declines it with compression=None; either way the
    session works, compressed or not."""
    server = await emulator(compression=compression)
    async with websockets.connect(server.url + "?model=m", additional_headers=AUTH) as ws:
        created = json.loads(await ws.recv())
        extensions = [ext.name for ext in ws.protocol.extensions]
        await ws.send(json.dumps({"type": "response.create"}))
        while json.loads(await ws.recv())["type"] != "response.done":
            pass
    assert created["type"] == "session.created"
    assert extensions == (["permessage-deflate"] if negotiated else [])


async def test_the_official_openai_sdk_talks_to_the_emulator(emulator: StartEmulator) -> None:
    """openai's own Realtime client connects, updates, converses and parses every event."""
    from openai import AsyncOpenAI

    server = await emulator()
    sdk = AsyncOpenAI(api_key="sk-test", base_url=f"http://127.0.0.1:{server.port}/v1")
    async with sdk.realtime.connect(model="gpt-realtime") as connection:
        await connection.session.update(
            session={"type": "realtime", "audio": {"output": {"format": {"type": "audio/pcmu"}}}}
        )
        await connection.conversation.item.create(
            item={
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "hi"}],
            }
        )
        await connection.response.create()
        kinds = []
        async for event in connection:
            kinds.append(event.type)
            if event.type == "response.done":
                break
    assert kinds[:2] == ["session.created", "session.updated"]
    assert event.response.status == "completed" and "response.output_audio.delta" in kinds
