"""Keeping one session on a live Realtime connection.

A dropped socket is retried with backoff until the settings' deadline; a session nearing the
server's 60-minute cap is swapped, at a quiet moment, for a fresh one. Either way the session
:meth:`~gateway.runtime.session.RealtimeSession.adopt`\\ s the new connection: it configures
it and replays the history, so the caller notices at most a pause.

Every new connection comes through :meth:`ConnectionKeeper.open`: the session's ``close``
cancels one still being opened, and one that opens after ``close`` is shut at once, so a call
that ends while its socket is being set up (a CANCEL during ringing, a setup timeout) leaves no
Realtime session running behind it.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import structlog

from gateway.core.realtime.backoff import reconnect_delays
from gateway.runtime import events as ev
from gateway.runtime.ports import Connection, ConnectionLost, Connector

if TYPE_CHECKING:
    from gateway.runtime.session import RealtimeSession

__all__ = ["ConnectionKeeper"]

log = structlog.get_logger()


class ConnectionKeeper:
    """Reconnects and recycles one session's connection through ``connector``."""

    def __init__(self, session: RealtimeSession, connector: Connector) -> None:
        self._s = session
        self._connector = connector
        self._opening: asyncio.Future[Connection] | None = None

    async def open(self) -> Connection:
        """A new connection, unless the session closes first (then a final ConnectionLost)."""
        if self._s.closing:
            raise ConnectionLost("session closed", final=True)
        opening = self._opening = asyncio.ensure_future(self._connector())
        try:
            conn = await opening
        except asyncio.CancelledError:
            me = asyncio.current_task()
            if opening.cancelled() and self._s.closing and not (me and me.cancelling()):
                raise ConnectionLost("session closed while connecting", final=True) from None
            raise
        finally:
            self._opening = None
        if self._s.closing:
            await conn.close()
            raise ConnectionLost("session closed while connecting", final=True)
        return conn

    def cancel_open(self) -> None:
        """The session is closing: stop opening a connection."""
        if self._opening is not None:
            self._opening.cancel()

    async def reconnect(self, reason: str) -> bool:
        """After a drop: a new connection adopted (True), or none before the deadline."""
        log.warning("realtime_connection_lost", reason=reason)
        deadline = self._s.settings.reconnect_deadline_s
        for attempt, delay in enumerate(reconnect_delays(deadline_s=deadline), start=1):
            self._s.emit(ev.Reconnecting(attempt, reason))
            await asyncio.sleep(delay)
            try:
                conn = await self.open()
            except ConnectionLost as exc:
                log.info("realtime_reconnect_failed", attempt=attempt, error=str(exc))
                if exc.final:
                    return False
                continue
            await self._s.adopt(conn, attempt)
            return True
        return False

    async def recycle(self) -> None:
        """Task: swap to a fresh session at a quiet moment before the 60-minute cap."""
        session = self._s
        while not session.closing:
            age = session.connection_age_s
            wait = session.settings.recycle_after_s - age
            if wait > 0:
                await asyncio.sleep(min(wait, 1.0))
                continue
            if session.quiet():
                log.info("realtime_session_recycling", age_s=round(age))
                old = session.connection
                try:
                    conn = await self.open()
                except ConnectionLost:
                    await asyncio.sleep(1.0)
                    continue
                await session.adopt(conn, 0)
                if old is not None:
                    await old.close()
            await asyncio.sleep(0.2)
