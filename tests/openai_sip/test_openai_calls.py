"""REST call control (gateway/adapters/openai_calls.py) and its HTTP client, on loopback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from gateway.adapters.http_client import HttpClientError, request
from gateway.adapters.http_server import HttpServer, Request, Response
from gateway.adapters.openai_calls import CallControl, CallControlError, CallNotFound
from gateway.errors import ConfigError
from tests.e2e.harness import free_port


class Api:
    """Answers each call-control request with a scripted status; keeps what it received."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.status = 200
        self.body = b""

    async def __call__(self, request: Request) -> Response:
        self.requests.append(request)
        return Response(self.status, self.body, "application/json")


@pytest.fixture
async def api() -> AsyncIterator[tuple[Api, str]]:
    fake = Api()
    route = "/v1/realtime/calls/{call_id}/{action}"
    async with HttpServer({("POST", route): fake}) as server:
        yield fake, f"http://127.0.0.1:{server.port}/v1"


async def test_requests_carry_the_key_the_json_body_and_the_call_id(api: tuple[Api, str]) -> None:
    """accept/reject/refer send their JSON bodies, hangup none; all with the bearer key."""
    fake, base = api
    control = CallControl(base, "sk-test-123")
    await control.accept("rtc_1", {"type": "realtime", "instructions": "Hi."})
    await control.reject("rtc_1", 486)
    await control.refer("rtc_1", "tel:+14155550123")
    await control.hangup("rtc_1")
    paths = [r.path for r in fake.requests]
    assert paths == [
        f"/v1/realtime/calls/rtc_1/{a}" for a in ("accept", "reject", "refer", "hangup")
    ]
    assert all(r.headers["authorization"] == "Bearer sk-test-123" for r in fake.requests)
    bodies = [json.loads(r.body) if r.body else None for r in fake.requests]
    assert bodies == [
        {"type": "realtime", "instructions": "Hi."},
        {"status_code": 486},
        {"target_uri": "tel:+14155550123"},
        None,
    ]


async def test_404_is_call_not_found_and_other_errors_keep_status_and_message(
    api: tuple[Api, str],
) -> None:
    """A 404 is CallNotFound (the caller is gone: callers treat it as a no-op); a 400 keeps its
    status and OpenAI's error message."""
    fake, base = api
    control = CallControl(base, "sk-test")
    fake.status, fake.body = 404, b'{"error": {"message": "Call not found."}}'
    with pytest.raises(CallNotFound) as gone:
        await control.accept("rtc_1", {"type": "realtime"})
    assert gone.value.status == 404
    fake.status, fake.body = 400, b'{"error": {"message": "Unknown parameter: x."}}'
    with pytest.raises(CallControlError, match=r"Unknown parameter: x\.") as bad:
        await control.refer("rtc_1", "sip:a@b")
    assert bad.value.status == 400 and not isinstance(bad.value, CallNotFound)


async def test_no_answer_is_status_0_and_no_key_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A refused connection is a CallControlError with status 0; no key anywhere is refused
    before any request."""
    with pytest.raises(CallControlError) as caught:
        await CallControl(f"http://127.0.0.1:{free_port()}/v1", "k").hangup("rtc_1")
    assert caught.value.status == 0
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigError):
        await CallControl("http://127.0.0.1:9/v1").hangup("rtc_1")


async def _raw_server(answer: bytes) -> tuple[asyncio.Server, int]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def test_the_client_reads_chunked_answers_and_refuses_broken_ones() -> None:
    """Chunked bodies are joined; a response cut short, or none in time, is an error."""
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
    server, port = await _raw_server(chunked)
    async with server:
        answer = await request("GET", f"http://127.0.0.1:{port}/x")
    assert (answer.status, answer.body) == (200, b"ok")
    server, port = await _raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
    async with server:
        with pytest.raises(HttpClientError, match="closed"):
            await request("GET", f"http://127.0.0.1:{port}/x")

    async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # never answers; closes when the client gives up
        writer.close()

    silent = await asyncio.start_server(mute, "127.0.0.1", 0)
    async with silent:
        port = silent.sockets[0].getsockname()[1]
        with pytest.raises(HttpClientError, match="no response"):
            await request("GET", f"http://127.0.0.1:{port}/x", timeout_s=0.2)
    with pytest.raises(HttpClientError, match="not an http"):
        await request("GET", "ftp://x/y")
