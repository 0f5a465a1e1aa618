"""A small asyncio HTTP/1.1 server on h11, for health, metrics and webhook endpoints.

Routes map ``(method, path)`` to an async handler taking a :class:`Request` and returning a
:class:`Response`. A path segment written ``{name}`` matches any one segment, given to the
handler in :attr:`Request.params` (``/v1/realtime/calls/{call_id}/accept``). Bodies over
``max_body`` bytes get 413 without being read further; malformed requests get 400; unknown paths
404; a wrong method 405; a handler that raises 500 (logged).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

import h11
import structlog

__all__ = ["HttpServer", "Request", "Response", "Route"]

log = structlog.get_logger()

_READ_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    """Lower-case header names; repeated headers joined with ', '."""
    body: bytes
    peer: str
    params: Mapping[str, str] = field(default_factory=dict)
    """Values of the route's ``{name}`` path segments."""


@dataclass(frozen=True, slots=True)
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def text(cls, status: int, text: str) -> Response:
        return cls(status, text.encode())


Route = Callable[[Request], Awaitable[Response]]


class _TooLarge(Exception):
    pass


_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _pattern(path: str) -> re.Pattern[str] | None:
    """A regex for a route path with ``{name}`` segments (None for a plain path)."""
    if _PARAM.search(path) is None:
        return None
    parts = _PARAM.split(path)
    regex = "".join(
        f"(?P<{part}>[^/]+)" if i % 2 else re.escape(part) for i, part in enumerate(parts)
    )
    return re.compile(regex)


class HttpServer:
    """Serves ``routes`` on ``host:port`` (port 0 picks a free one; see :attr:`port`)."""

    def __init__(
        self,
        routes: Mapping[tuple[str, str], Route],
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        max_body: int = 64 * 1024,
    ) -> None:
        self._routes = dict(routes)
        self._paths = {path for _, path in routes}
        self._patterns = [
            (method, pattern, route)
            for (method, path), route in routes.items()
            if (pattern := _pattern(path)) is not None
        ]
        self._host, self._port = host, port
        self._max_body = max_body
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self._host, self._port)
        log.info("http_listening", host=self._host, port=self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def __aenter__(self) -> HttpServer:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=16 * 1024)
        peer = str(writer.get_extra_info("peername", ("?", 0))[0])
        try:
            while True:
                response, request_ok = await self._one(conn, reader, peer)
                if response is None:
                    return
                await _send(conn, writer, response)
                if not request_ok or conn.our_state is not h11.DONE:
                    return
                conn.start_next_cycle()
        except (ConnectionError, h11.ProtocolError, TimeoutError):
            return
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _one(
        self, conn: h11.Connection, reader: asyncio.StreamReader, peer: str
    ) -> tuple[Response | None, bool]:
        try:
            head, body = await asyncio.wait_for(self._read(conn, reader), _READ_TIMEOUT_S)
        except h11.RemoteProtocolError:
            return Response.text(400, "bad request\n"), False
        except _TooLarge:
            return Response.text(413, "request body too large\n"), False
        if head is None:
            return None, False
        target = urlsplit(head.target.decode("latin-1"))
        headers: dict[str, str] = {}
        for name, value in head.headers:
            key = name.decode("latin-1").lower()
            val = value.decode("latin-1")
            headers[key] = f"{headers[key]}, {val}" if key in headers else val
        request = Request(head.method.decode(), target.path, target.query, headers, body, peer)
        return await self._dispatch(request), True

    async def _read(
        self, conn: h11.Connection, reader: asyncio.StreamReader
    ) -> tuple[h11.Request | None, bytes]:
        head: h11.Request | None = None
        chunks: list[bytes] = []
        size = 0
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await reader.read(65536)
                conn.receive_data(data)
                continue
            if isinstance(event, h11.Request):
                head = event
                length = dict(event.headers).get(b"content-length")
                if length is not None and length.isdigit() and int(length) > self._max_body:
                    raise _TooLarge
            elif isinstance(event, h11.Data):
                size += len(event.data)
                if size > self._max_body:
                    raise _TooLarge
                chunks.append(event.data)
            elif isinstance(event, h11.EndOfMessage):
                return head, b"".join(chunks)
            elif isinstance(event, h11.ConnectionClosed):
                return None, b""

    def _match(self, request: Request) -> tuple[Route | None, Request, bool]:
        """The route for ``request`` (with its path params), and whether the path is known."""
        route = self._routes.get((request.method, request.path))
        if route is not None:
            return route, request, True
        known = request.path in self._paths
        for method, pattern, candidate in self._patterns:
            found = pattern.fullmatch(request.path)
            if found is None:
                continue
            known = True
            if method == request.method:
                return candidate, replace(request, params=found.groupdict()), True
        return None, request, known

    async def _dispatch(self, request: Request) -> Response:
        route, request, known = self._match(request)
        if route is None:
            status = 405 if known else 404
            return Response.text(status, "method not allowed\n" if status == 405 else "not found\n")
        try:
            return await route(request)
        except Exception as exc:  # a handler bug answers 500 and the server carries on
            log.exception("http_handler_failed", path=request.path, error=str(exc))
            return Response.text(500, "internal error\n")


async def _send(conn: h11.Connection, writer: asyncio.StreamWriter, response: Response) -> None:
    headers = [
        ("content-type", response.content_type),
        ("content-length", str(len(response.body))),
        *response.headers.items(),
    ]
    writer.write(conn.send(h11.Response(status_code=response.status, headers=headers)) or b"")
    writer.write(conn.send(h11.Data(data=response.body)) or b"")
    writer.write(conn.send(h11.EndOfMessage()) or b"")
    await writer.drain()
