"""A small asyncio HTTP/1.1 client on h11: one request per connection.

For the few requests a call makes (OpenAI call control: accept, reject, refer, hangup) and the
emulator's webhook deliveries, where a pooled client would be more machinery than the traffic
needs. ``https`` uses the system's default TLS context. Every way a request can fail — no
connection, TLS, a broken or incomplete answer, the timeout — is one :class:`HttpClientError`;
cancelling the awaiting task closes the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import h11

from gateway import __version__
from gateway.errors import GatewayError

__all__ = ["HttpClientError", "HttpResponse", "request"]

_READ = 65536
USER_AGENT = f"voicegw/{__version__}"


class HttpClientError(GatewayError):
    """An HTTP request failed before a complete response arrived."""


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    """Lower-case names; repeated headers joined with ', '."""


@dataclass(frozen=True, slots=True)
class _Target:
    host: str
    port: int
    tls: bool
    path: str

    @classmethod
    def of(cls, url: str) -> _Target:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise HttpClientError(f"not an http(s) URL: {url!r}")
        tls = parts.scheme == "https"
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return cls(parts.hostname, parts.port or (443 if tls else 80), tls, path)

    @property
    def authority(self) -> str:
        default = 443 if self.tls else 80
        return self.host if self.port == default else f"{self.host}:{self.port}"


async def request(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
    timeout_s: float = 10.0,
    max_body: int = 1024 * 1024,
) -> HttpResponse:
    """Send one request and return the whole response (body capped at ``max_body``)."""
    target = _Target.of(url)
    try:
        async with asyncio.timeout(timeout_s):
            return await _exchange(target, method, headers or {}, body, max_body)
    except TimeoutError:
        raise HttpClientError(f"{method} {url}: no response within {timeout_s:g} s") from None
    except (OSError, ssl.SSLError) as exc:
        raise HttpClientError(f"{method} {url}: {exc}") from None
    except h11.ProtocolError as exc:
        raise HttpClientError(f"{method} {url}: bad HTTP response: {exc}") from None


async def _exchange(
    target: _Target, method: str, headers: Mapping[str, str], body: bytes, max_body: int
) -> HttpResponse:
    context = ssl.create_default_context() if target.tls else None
    reader, writer = await asyncio.open_connection(
        target.host, target.port, ssl=context, server_hostname=target.host if context else None
    )
    try:
        conn = h11.Connection(h11.CLIENT)
        head = {"host": target.authority, "user-agent": USER_AGENT}
        head.update((k.lower(), v) for k, v in headers.items())
        head.update({"content-length": str(len(body)), "connection": "close"})
        start = h11.Request(method=method, target=target.path, headers=list(head.items()))
        writer.write(conn.send(start) or b"")
        writer.write(conn.send(h11.Data(data=body)) or b"")
        writer.write(conn.send(h11.EndOfMessage()) or b"")
        await writer.drain()
        return await _read_response(conn, reader, max_body)
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()


async def _read_response(
    conn: h11.Connection, reader: asyncio.StreamReader, max_body: int
) -> HttpResponse:
    status = 0
    headers: dict[str, str] = {}
    chunks: list[bytes] = []
    size = 0
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(await reader.read(_READ))
        elif isinstance(event, h11.Response):
            status = event.status_code
            for name, value in event.headers:
                key, val = name.decode("latin-1").lower(), value.decode("latin-1")
                headers[key] = f"{headers[key]}, {val}" if key in headers else val
        elif isinstance(event, h11.Data):
            size += len(event.data)
            if size > max_body:
                raise HttpClientError(f"response body over {max_body} bytes")
            chunks.append(bytes(event.data))
        elif isinstance(event, h11.EndOfMessage):
            return HttpResponse(status, b"".join(chunks), headers)
        elif isinstance(event, h11.ConnectionClosed):
            raise HttpClientError("connection closed before the response was complete")
