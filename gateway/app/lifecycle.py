"""What both gateway processes share: the tasks calls run in, SIGTERM/SIGINT, and the drain.

``voicegw serve`` (:class:`~gateway.app.gateway.Gateway`) and ``voicegw openai-sip``
(:class:`~gateway.app.openai_sip.OpenAISipGateway`) take calls differently but stop the same
way. :meth:`CallService.shutdown` drains: ``draining`` turns on (new calls are refused by the
subclass), live calls may finish until the deadline, then every one still live is ended
politely *at the same time* (one after another, each goodbye would wait for the one before),
and only once their records are written does the subclass release its listeners.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import signal
from collections.abc import Coroutine, Sequence
from typing import Any, Protocol

import structlog

__all__ = ["CallService", "EndsPolitely"]

log = structlog.get_logger("gateway.app.lifecycle")

_RECORDS_DEADLINE_S = 20.0
"""After the polite endings: how long the calls' tasks may take to write their records."""


class EndsPolitely(Protocol):
    """A live call the drain can end: a goodbye, then hang-up, then its record."""

    async def end_politely(self) -> None: ...


class CallService(abc.ABC):
    """Background call tasks, signals and the drain; subclasses admit and run the calls."""

    def __init__(self, drain_timeout_s: float) -> None:
        self.draining = False
        self.started = False
        self._drain_timeout_s = drain_timeout_s
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stop = asyncio.Event()

    @abc.abstractmethod
    async def start(self) -> None:
        """Bind the listeners; on failure nothing is left listening."""

    @abc.abstractmethod
    def live_calls(self) -> Sequence[EndsPolitely]:
        """The calls in progress."""

    @abc.abstractmethod
    async def _close(self) -> None:
        """Release the listeners and helpers; every call is over by now."""

    @abc.abstractmethod
    def _draining(self) -> None:
        """Called once when the drain begins, after ``draining`` is set."""

    async def run_until_signalled(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        await self.start()
        try:
            await self._stop.wait()
        finally:
            await self.shutdown()

    def request_stop(self) -> None:
        self._stop.set()

    async def shutdown(self) -> None:
        """Drain: refuse new calls, let live ones finish until the deadline, end the rest."""
        self.draining = True
        self._draining()
        log.info("gateway_draining", active=len(self.live_calls()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle(), self._drain_timeout_s)
        ending = [call.end_politely() for call in self.live_calls()]
        for failed in await asyncio.gather(*ending, return_exceptions=True):
            if isinstance(failed, Exception):  # that call is ended by the SIP stack's stop
                log.error("end_politely_failed", error=repr(failed))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle(), _RECORDS_DEADLINE_S)
        await self._close()
        log.info("gateway_stopped")

    async def _idle(self) -> None:
        """Until every call task is done. ``asyncio.wait``, not ``gather``: a timeout that
        cancels this wait must not cancel the calls."""
        while self._tasks:
            await asyncio.wait(list(self._tasks))

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
