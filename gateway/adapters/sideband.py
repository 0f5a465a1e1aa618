"""The sideband of an OpenAI SIP call: ``wss://.../v1/realtime?call_id=...``, checked on open.

The first server event of a (re-)attach says whether the call is still there: ``session.created``
means yes; an ``error`` (``call_not_found`` ...) or an HTTP 404 at the handshake means the call
has ended, so reconnecting cannot help (:class:`ConnectionLost` with ``final=True``, and
:attr:`SidebandConnector.call_gone`). When a caller hangs up, the socket closes without a close
frame (protocol brief §1.4); the runtime reconnects once, learns the call is gone, and stops.
UNVERIFIED: what the real service answers an attach to a finished call; both forms are handled.

The connection also reports the server's playout to ``on_event`` (``output_audio_buffer.*``),
which the call record uses for the time to first agent audio.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from gateway.adapters.realtime_ws import RealtimeEndpoint, open_connection
from gateway.runtime.ports import Connection, ConnectionLost

__all__ = ["SidebandConnector"]

log = structlog.get_logger()

_GONE_CODES = frozenset({"call_not_found"})
_WATCHED = ("output_audio_buffer.started", "output_audio_buffer.stopped")

Opener = Callable[[RealtimeEndpoint], Awaitable[Connection]]


class SidebandConnector:
    """A :data:`~gateway.runtime.ports.Connector` attaching to one call by ``call_id``."""

    def __init__(
        self,
        endpoint: RealtimeEndpoint,
        *,
        opener: Opener = open_connection,
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        if not endpoint.call_id:
            raise ValueError("a sideband endpoint attaches by call_id")
        self.endpoint = endpoint
        self.call_gone = False
        """The service said the call is over (after which every attach fails at once)."""
        self.attaches = 0
        self._opener = opener
        self._on_event = on_event

    async def __call__(self) -> Connection:
        if self.call_gone:
            raise ConnectionLost("the call has ended", final=True)
        try:
            conn = await self._opener(self.endpoint)
        except ConnectionLost as exc:
            if exc.code == 404:
                self._gone(f"handshake refused with HTTP {exc.code}")
                raise ConnectionLost(str(exc), code=exc.code, final=True) from None
            raise
        first = await self._first_event(conn)
        self.attaches += 1
        return _Sideband(conn, first, self._on_event)

    async def _first_event(self, conn: Connection) -> str | bytes:
        try:
            first = await asyncio.wait_for(conn.recv(), self.endpoint.open_timeout_s)
        except TimeoutError:
            await conn.close()
            raise ConnectionLost("no session.created after attaching") from None
        event = _parse(first)
        if event.get("type") == "error":
            error = event.get("error")
            error = error if isinstance(error, dict) else {}
            code = error.get("code")
            await conn.close()
            if code in _GONE_CODES:
                self._gone(str(error.get("message") or code))
            raise ConnectionLost(f"attach refused: {code}", final=code in _GONE_CODES)
        return first

    def _gone(self, why: str) -> None:
        if not self.call_gone:
            log.info("sideband_call_gone", reason=why)
        self.call_gone = True


def _parse(raw: str | bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


class _Sideband:
    """The attached connection, replaying the peeked first event."""

    def __init__(
        self, conn: Connection, first: str | bytes, on_event: Callable[[str], None] | None
    ) -> None:
        self._conn = conn
        self._first: str | bytes | None = first
        self._on_event = on_event

    async def send(self, message: str) -> None:
        await self._conn.send(message)

    async def recv(self) -> str | bytes:
        if self._first is not None:
            first, self._first = self._first, None
            return first
        raw = await self._conn.recv()
        if self._on_event is not None and isinstance(raw, str) and "output_audio_buffer." in raw:
            kind = str(_parse(raw).get("type", ""))
            if kind in _WATCHED:
                self._on_event(kind)
        return raw

    async def close(self) -> None:
        await self._conn.close()
