"""The small h11 HTTP server: routing, limits and bad input, over real loopback sockets."""

from __future__ import annotations

import asyncio

from gateway.adapters.http_server import HttpServer, Request, Response


async def _echo(request: Request) -> Response:
    return Response(200, request.body, headers={"x-peer": request.peer})


async def _boom(_request: Request) -> Response:
    raise RuntimeError("handler bug")


ROUTES = {("POST", "/echo"): _echo, ("GET", "/boom"): _boom}


async def _exchange(port: int, raw: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(65536), 5)
    writer.close()
    await writer.wait_closed()
    return data


async def test_routes_and_statuses() -> None:
    """A routed POST echoes; unknown path 404; wrong method 405; handler bug 500."""
    async with HttpServer(ROUTES) as server:
        ok = await _exchange(
            server.port, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
        )
        assert ok.startswith(b"HTTP/1.1 200 ")
        assert ok.endswith(b"\r\n\r\nhello")
        assert b"x-peer: 127.0.0.1" in ok
        missing = await _exchange(server.port, b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
        assert missing.startswith(b"HTTP/1.1 404 ")
        wrong = await _exchange(server.port, b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
        assert wrong.startswith(b"HTTP/1.1 405 ")
        boom = await _exchange(server.port, b"GET /boom HTTP/1.1\r\nHost: x\r\n\r\n")
        assert boom.startswith(b"HTTP/1.1 500 ")


async def test_oversized_body_gets_413_and_garbage_400() -> None:
    """A declared body over the limit is refused unread; a non-HTTP line gets 400."""
    async with HttpServer(ROUTES, max_body=10) as server:
        big = await _exchange(
            server.port, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"
        )
        assert big.startswith(b"HTTP/1.1 413 ")
        bad = await _exchange(server.port, b"\x16\x03\x01 garbage\r\n\r\n")
        assert bad.startswith(b"HTTP/1.1 400 ")
        ok = await _exchange(
            server.port, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi"
        )
        assert ok.endswith(b"hi")  # still serving after bad input


async def test_keep_alive_serves_several_requests() -> None:
    """Two requests on one connection both get answers."""
    async with HttpServer(ROUTES) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        for body in (b"one", b"two"):
            writer.write(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n" + body)
            await writer.drain()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            assert head.startswith(b"HTTP/1.1 200 ")
            assert await reader.readexactly(3) == body
        writer.close()
        await writer.wait_closed()


async def _call_action(request: Request) -> Response:
    return Response.text(200, f"{request.params['call_id']}:{request.params['action']}")


async def test_path_parameters_match_one_segment() -> None:
    """``{name}`` segments match one path segment each and reach the handler as params; a
    matching path with the wrong method is 405, a longer path 404."""
    routes = {("POST", "/v1/realtime/calls/{call_id}/{action}"): _call_action}
    async with HttpServer(routes) as server:
        ok = await _exchange(
            server.port,
            b"POST /v1/realtime/calls/rtc_1/accept HTTP/1.1\r\nHost: x\r\n"
            b"Content-Length: 0\r\n\r\n",
        )
        assert ok.startswith(b"HTTP/1.1 200 ") and ok.endswith(b"rtc_1:accept")
        wrong = await _exchange(
            server.port, b"GET /v1/realtime/calls/rtc_1/accept HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        assert wrong.startswith(b"HTTP/1.1 405 ")
        deeper = await _exchange(
            server.port,
            b"POST /v1/realtime/calls/a/b/c HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
        )
        assert deeper.startswith(b"HTTP/1.1 404 ")
