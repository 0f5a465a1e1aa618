"""A live call's timers, whatever carries its audio: :class:`~gateway.core.call_clock.CallClock`
(no input, maximum duration) on a 250 ms tick.

The transport says what "busy" means (its playout) and how to say-then-end; the OpenAI SIP
transport uses this as is (the pjsua2 handler drives the same clock from its own loop, which
also marks the first agent audio from its ring).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from gateway.core.agents.spec import PhoneSettings
from gateway.core.call_clock import CallClock, ClockAction

__all__ = ["CallTimers"]

Say = Callable[[str], Awaitable[None]]
SayAndEnd = Callable[[str, str], Awaitable[None]]


class CallTimers:
    """Run :meth:`run` as one of the call's tasks once it is answered."""

    def __init__(
        self,
        phone: PhoneSettings,
        *,
        busy: Callable[[], bool],
        say: Say,
        say_and_end: SayAndEnd,
        period_s: float = 0.25,
    ) -> None:
        self._phone = phone
        self._busy = busy
        self._say = say
        self._say_and_end = say_and_end
        self._period = period_s
        self._speaking = False
        self._clock = CallClock(phone, time.monotonic())

    def caller_speech(self, active: bool) -> None:
        """The server's VAD: the caller started (or stopped) speaking."""
        self._speaking = active
        self._clock.activity(time.monotonic())

    async def run(self) -> None:
        phone = self._phone
        self._clock.answered(time.monotonic())
        while True:
            await asyncio.sleep(self._period)
            now = time.monotonic()
            action = self._clock.duration(now)
            if action is ClockAction.END_MAX_DURATION:
                await self._say_and_end(phone.no_input.goodbye, "max_duration")
                return
            if action is ClockAction.WARN_DURATION:
                await self._say(phone.duration_warning)
            action = self._clock.silence(now, active=self._busy() or self._speaking)
            if action is ClockAction.END_NO_INPUT:
                await self._say_and_end(phone.no_input.goodbye, "no_input")
                return
            if action is ClockAction.REPROMPT:
                await self._say(phone.no_input.reprompt)
