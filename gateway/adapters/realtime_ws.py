"""The Realtime API over ``websockets``: a new session (``?model=``) or attach (``?call_id=``).

Only this module knows websockets. Its exceptions are translated once, here, into
:class:`~gateway.runtime.ports.ConnectionLost` (with the close code or HTTP status when there is
one), so the runtime handles every way a socket can fail the same way.

A close with code 3000 is the service refusing the credentials: a live capture of a request
without a bearer token saw the upgrade succeed, an ``error`` "Missing bearer or basic
authentication in header", then close 3000. That ConnectionLost is ``final``: the runtime
does not reconnect after it, so a bad key ends the session instead of reconnecting in a loop.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlencode

import structlog
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.protocol import State

from gateway.errors import ConfigError, ConfigIssue
from gateway.runtime.ports import Connection, ConnectionLost, Connector

__all__ = ["DEFAULT_BASE_URL", "RealtimeEndpoint", "WebSocketConnection", "open_connection"]

DEFAULT_BASE_URL = "wss://api.openai.com/v1/realtime"
CLOSE_AUTHENTICATION = 3000

log = structlog.get_logger()


@dataclass(frozen=True, slots=True)
class RealtimeEndpoint:
    """Where and how to open a Realtime WebSocket.

    Exactly one of ``model`` (a new session) and ``call_id`` (attach to an OpenAI SIP call) is
    set. ``api_key`` may be a callable, to fetch short-lived keys; by default it is read from
    ``OPENAI_API_KEY``. ``auth`` ``"api-key"`` sends an ``api-key`` header instead of
    ``Authorization: Bearer`` (Azure-style deployments, which also use ``extra_query``).
    """

    base_url: str = DEFAULT_BASE_URL
    model: str | None = None
    call_id: str | None = None
    api_key: str | Callable[[], str] | None = None
    auth: Literal["bearer", "api-key"] = "bearer"
    extra_headers: Mapping[str, str] = field(default_factory=dict)
    extra_query: Mapping[str, str] = field(default_factory=dict)
    open_timeout_s: float = 10.0
    proxy: str | None = None

    def __post_init__(self) -> None:
        if bool(self.model) == bool(self.call_id):
            raise ConfigError(
                [ConfigIssue("realtime", None, "", "give exactly one of model and call_id")]
            )

    def url(self) -> str:
        query = {"call_id": self.call_id} if self.call_id else {"model": self.model or ""}
        extra = {k: v for k, v in self.extra_query.items() if k not in query}
        return f"{self.base_url}?{urlencode({**query, **extra})}"

    def headers(self) -> dict[str, str]:
        """Auth and extra headers; raises ConfigError when there is no API key at all."""
        key = self.api_key() if callable(self.api_key) else self.api_key
        key = key or os.environ.get("OPENAI_API_KEY", "")
        if not key:
            raise ConfigError([ConfigIssue("realtime", None, "", "no API key: set OPENAI_API_KEY")])
        auth = {"Authorization": f"Bearer {key}"} if self.auth == "bearer" else {"api-key": key}
        return {**auth, **self.extra_headers}


class WebSocketConnection:
    """A :class:`~gateway.runtime.ports.Connection` on an open websockets client connection.

    :meth:`send` has a fast path for the steady stream of small messages (an audio append every
    20 ms per call): while the connection is open, no fragmented message is being sent and the
    socket applies no back-pressure, the message is framed by websockets' Sans-I/O protocol and
    written at once. That is exactly what ``ClientConnection.send`` does in that state, minus
    its async context manager, whose machinery cost more than the framing (about 45 % of the
    uplink's CPU, ``bench/load.py``). Anything else goes through ``ClientConnection.send``. The
    internals used are checked once, at construction; without them every send takes that path.
    """

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws
        self._fast = all(
            hasattr(ws, name) for name in ("protocol", "send_in_progress", "paused", "send_data")
        )

    async def send(self, message: str) -> None:
        ws = self._ws
        if (
            self._fast
            and ws.protocol.state is State.OPEN
            and ws.send_in_progress is None
            and not ws.paused
            and not ws.transport.is_closing()
        ):
            ws.protocol.send_text(message.encode())
            ws.send_data()
            return
        try:
            await ws.send(message)
        except ConnectionClosed as exc:
            raise _lost(exc) from None

    async def recv(self) -> str | bytes:
        try:
            return await self._ws.recv()
        except ConnectionClosed as exc:
            raise _lost(exc) from None

    async def close(self) -> None:
        await self._ws.close()


def _lost(exc: ConnectionClosed) -> ConnectionLost:
    frame = exc.rcvd or exc.sent
    code = frame.code if frame is not None else None
    reason = frame.reason if frame is not None and frame.reason else "no close frame"
    if code == CLOSE_AUTHENTICATION:  # reopening with the same key cannot help
        return ConnectionLost(f"authentication refused ({code}: {reason})", code=code, final=True)
    return ConnectionLost(f"socket closed ({code}: {reason})", code=code)


async def open_connection(endpoint: RealtimeEndpoint) -> Connection:
    """Open the WebSocket; any failure is a :class:`ConnectionLost`."""
    try:
        ws = await connect(
            endpoint.url(),
            additional_headers=endpoint.headers(),
            open_timeout=endpoint.open_timeout_s,
            max_size=None,  # server events (session objects, retrieved items) can be large
            compression=None,  # base64 audio does not compress; save the CPU
            proxy=endpoint.proxy,
        )
    except InvalidStatus as exc:
        status = exc.response.status_code
        raise ConnectionLost(f"handshake refused with HTTP {status}", code=status) from None
    except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as exc:
        raise ConnectionLost(f"cannot connect to {endpoint.base_url}: {exc}") from None
    log.info("realtime_connected", url=endpoint.base_url, attach=endpoint.call_id is not None)
    return WebSocketConnection(ws)


def connector(endpoint: RealtimeEndpoint) -> Connector:
    """A :data:`~gateway.runtime.ports.Connector` that opens ``endpoint`` each time."""

    async def open_new() -> Connection:
        return await open_connection(endpoint)

    return open_new
