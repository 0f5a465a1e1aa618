"""The Realtime WebSocket adapter: endpoint URL and headers, and every way opening or using a
socket can fail, translated to ConnectionLost, against real websockets servers on loopback."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from gateway.adapters.realtime_ws import (
    DEFAULT_BASE_URL,
    RealtimeEndpoint,
    connector,
    open_connection,
)
from gateway.emulator import EmulatorServer
from gateway.errors import ConfigError, GatewayError
from gateway.runtime.ports import ConnectionLost

KEY = "sk-test-key"


def test_url_for_a_new_session() -> None:
    """With ``model`` the URL opens a new session on the default OpenAI endpoint."""
    endpoint = RealtimeEndpoint(model="gpt-realtime")
    assert endpoint.url() == "wss://api.openai.com/v1/realtime?model=gpt-realtime"
    assert DEFAULT_BASE_URL == "wss://api.openai.com/v1/realtime"


def test_url_for_attaching_to_a_sip_call() -> None:
    """With ``call_id`` the URL attaches to an existing OpenAI SIP call; no model is sent."""
    endpoint = RealtimeEndpoint(call_id="rtc_abc123")
    assert endpoint.url() == "wss://api.openai.com/v1/realtime?call_id=rtc_abc123"


def test_extra_query_is_appended_and_encoded() -> None:
    """``extra_query`` parameters follow the model, URL-encoded (Azure-style deployments)."""
    endpoint = RealtimeEndpoint(
        base_url="wss://example.openai.azure.com/openai/realtime",
        model="gpt realtime",
        extra_query={"api-version": "2025-08-28", "deployment": "a&b"},
    )
    assert endpoint.url() == (
        "wss://example.openai.azure.com/openai/realtime"
        "?model=gpt+realtime&api-version=2025-08-28&deployment=a%26b"
    )


@pytest.mark.parametrize(
    "kwargs", [{}, {"model": "gpt-realtime", "call_id": "rtc_1"}], ids=["neither", "both"]
)
def test_exactly_one_of_model_and_call_id(kwargs: dict[str, Any]) -> None:
    """Giving both or neither of ``model`` and ``call_id`` is a configuration error."""
    with pytest.raises(ConfigError, match="give exactly one of model and call_id"):
        RealtimeEndpoint(**kwargs)


def test_empty_call_id_is_not_a_new_session() -> None:
    """An empty ``call_id`` is refused, or at least never turned into a ``?model=`` URL."""
    try:
        endpoint = RealtimeEndpoint(call_id="")
    except ConfigError:
        return
    assert "model=" not in endpoint.url()


def test_bearer_header_with_a_given_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """A key given in the endpoint is sent as ``Authorization: Bearer``, over the environment."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    assert RealtimeEndpoint(model="m", api_key=KEY).headers() == {"Authorization": f"Bearer {KEY}"}


def test_api_key_header_style() -> None:
    """``auth="api-key"`` sends an ``api-key`` header and no Authorization."""
    headers = RealtimeEndpoint(model="m", api_key=KEY, auth="api-key").headers()
    assert headers == {"api-key": KEY}


def test_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a key in the endpoint, ``OPENAI_API_KEY`` is read when headers are built."""
    endpoint = RealtimeEndpoint(model="m")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-1")
    assert endpoint.headers()["Authorization"] == "Bearer sk-env-1"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-2")
    assert endpoint.headers()["Authorization"] == "Bearer sk-env-2"


def test_key_from_a_callable_is_fetched_each_time() -> None:
    """A callable key (short-lived keys) is called for every connection's headers."""
    issued = iter(["ek_1", "ek_2"])
    endpoint = RealtimeEndpoint(model="m", api_key=lambda: next(issued), auth="api-key")
    assert endpoint.headers() == {"api-key": "ek_1"}
    assert endpoint.headers() == {"api-key": "ek_2"}


def test_extra_headers_are_added() -> None:
    """``extra_headers`` are sent along with the authentication header."""
    endpoint = RealtimeEndpoint(model="m", api_key=KEY, extra_headers={"OpenAI-Project": "p1"})
    assert endpoint.headers() == {"Authorization": f"Bearer {KEY}", "OpenAI-Project": "p1"}


@dataclass
class FakeRealtime:
    """A tiny Realtime stand-in: checks the key, records requests, echoes or closes."""

    close_code: int | None = None
    close_reason: str = "session expired"
    requests: list[tuple[str, Headers]] = field(default_factory=list)
    big_reply: int = 0

    def check(self, connection: ServerConnection, request: Request) -> Response | None:
        self.requests.append((request.path, request.headers))
        auth = request.headers.get("Authorization") or f"Bearer {request.headers.get('api-key')}"
        if auth != f"Bearer {KEY}":
            return connection.respond(HTTPStatus.UNAUTHORIZED, "invalid api key\n")
        return None

    async def handler(self, ws: ServerConnection) -> None:
        if self.close_code is not None:
            await ws.close(self.close_code, self.close_reason)
            return
        async for message in ws:
            await ws.send("x" * self.big_reply if self.big_reply else message)


@pytest.fixture
async def server() -> AsyncIterator[tuple[FakeRealtime, str]]:
    fake = FakeRealtime()
    async with serve(fake.handler, "127.0.0.1", 0, process_request=fake.check) as ws_server:
        port = ws_server.sockets[0].getsockname()[1]
        yield fake, f"ws://127.0.0.1:{port}/v1/realtime"


def _endpoint(base_url: str, **overrides: Any) -> RealtimeEndpoint:
    settings = {"model": "gpt-realtime", "api_key": KEY, "open_timeout_s": 2.0, **overrides}
    return RealtimeEndpoint(base_url=base_url, **settings)


async def test_open_connection_sends_headers_and_exchanges_messages(
    server: tuple[FakeRealtime, str],
) -> None:
    """The socket opens on the endpoint URL with the key, and carries text both ways."""
    fake, base = server
    conn = await open_connection(_endpoint(base, extra_query={"v": "1"}))
    try:
        await conn.send('{"type":"session.update"}')
        assert await conn.recv() == '{"type":"session.update"}'
    finally:
        await conn.close()
    ((path, headers),) = fake.requests
    assert path == "/v1/realtime?model=gpt-realtime&v=1"
    assert headers["Authorization"] == f"Bearer {KEY}"
    assert "Sec-WebSocket-Extensions" not in headers  # no permessage-deflate offer


async def test_api_key_header_is_accepted(server: tuple[FakeRealtime, str]) -> None:
    """The ``api-key`` header style reaches the server and opens the socket too."""
    fake, base = server
    conn = await open_connection(_endpoint(base, auth="api-key"))
    await conn.close()
    assert fake.requests[0][1]["api-key"] == KEY
    assert "Authorization" not in fake.requests[0][1]


async def test_large_messages_are_received(server: tuple[FakeRealtime, str]) -> None:
    """Server messages over websockets' default 1 MiB limit still arrive."""
    fake, base = server
    fake.big_reply = 3 * 1024 * 1024
    conn = await open_connection(_endpoint(base))
    try:
        await conn.send("go")
        assert len(await conn.recv()) == 3 * 1024 * 1024
    finally:
        await conn.close()


async def test_refused_handshake_carries_the_http_status(
    server: tuple[FakeRealtime, str],
) -> None:
    """A 401 on the upgrade is a ConnectionLost whose ``code`` is 401."""
    _, base = server
    with pytest.raises(ConnectionLost) as info:
        await open_connection(_endpoint(base, api_key="sk-wrong"))
    assert info.value.code == 401
    assert "401" in str(info.value)
    assert "sk-wrong" not in str(info.value)


async def test_server_close_code_is_reported(server: tuple[FakeRealtime, str]) -> None:
    """A server closing with 4000 makes recv (and then send) raise ConnectionLost code 4000."""
    fake, base = server
    fake.close_code = 4000
    conn = await open_connection(_endpoint(base))
    with pytest.raises(ConnectionLost) as info:
        await conn.recv()
    assert info.value.code == 4000 and not info.value.final
    assert "4000: session expired" in str(info.value)
    with pytest.raises(ConnectionLost) as on_send:
        await conn.send("{}")
    assert on_send.value.code == 4000
    await conn.close()


async def test_an_authentication_close_is_final(server: tuple[FakeRealtime, str]) -> None:
    """Close code 3000 (the service refusing the credentials after the upgrade) is a final
    ConnectionLost: a new socket with the same key would be refused the same way."""
    fake, base = server
    fake.close_code, fake.close_reason = 3000, "invalid_request_error"
    conn = await open_connection(_endpoint(base))
    with pytest.raises(ConnectionLost) as info:
        await conn.recv()
    assert info.value.code == 3000 and info.value.final
    assert "authentication" in str(info.value) and KEY not in str(info.value)
    await conn.close()


async def test_the_emulator_refuses_a_missing_bearer_token_with_a_final_close() -> None:
    """Against the emulator, which follows the live capture: the socket opens, the ``error``
    event arrives, then the 3000 close is a final ConnectionLost."""
    async with EmulatorServer() as emulator:
        conn = await open_connection(_endpoint(emulator.url, auth="api-key"))  # no Bearer
        error = json.loads(await conn.recv())
        with pytest.raises(ConnectionLost) as info:
            await conn.recv()
        await conn.close()
    assert error["type"] == "error"
    assert error["error"]["message"] == "Missing bearer or basic authentication in header"
    assert info.value.code == 3000 and info.value.final


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_nothing_listening_is_connection_lost() -> None:
    """A refused TCP connection is a ConnectionLost without a code."""
    base = f"ws://127.0.0.1:{_free_port()}/v1/realtime"
    with pytest.raises(ConnectionLost, match=r"^cannot connect to ws://127\.0\.0\.1:") as info:
        await open_connection(_endpoint(base))
    assert info.value.code is None


async def test_silent_server_times_out_as_connection_lost() -> None:
    """A server that accepts TCP but never answers the upgrade fails within ``open_timeout_s``."""
    hold = asyncio.Event()

    async def silent(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await hold.wait()
        writer.close()

    tcp = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = tcp.sockets[0].getsockname()[1]
    try:
        endpoint = _endpoint(f"ws://127.0.0.1:{port}/v1/realtime", open_timeout_s=0.2)
        with pytest.raises(ConnectionLost) as info:
            await asyncio.wait_for(open_connection(endpoint), 3)
        assert info.value.code is None
    finally:
        hold.set()
        tcp.close()
        await tcp.wait_closed()


async def test_connector_opens_a_new_connection_each_time(
    server: tuple[FakeRealtime, str],
) -> None:
    """``connector(endpoint)`` opens a fresh socket on every call (for reconnects)."""
    fake, base = server
    keys = iter([KEY, KEY])
    open_new = connector(_endpoint(base, api_key=lambda: next(keys)))
    first = await open_new()
    second = await open_new()
    assert first is not second
    await first.close()
    await second.close()
    assert len(fake.requests) == 2


async def test_bad_base_url_is_a_gateway_error() -> None:
    """An http(s) base URL fails as a GatewayError, not a websockets exception."""
    with pytest.raises(GatewayError):
        await open_connection(_endpoint("https://127.0.0.1:9/v1/realtime"))
