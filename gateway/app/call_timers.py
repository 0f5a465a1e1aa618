"""A live call's timers, whatever carries its audio: no input, and the maximum duration.

* **No input**: silence from both sides for ``no_input.reprompt_after_s`` -> the reprompt
  (once); for ``no_input.hangup_after_s`` -> the goodbye, then the call ends (``no_input``).
  The clock restarts whenever the agent is busy (a response, or audio still playing) or the
  caller speaks (the server's VAD).
* **Maximum duration**: ``duration_warning`` said ``duration_warning_s`` before the end, then
  the goodbye, then the call ends (``max_duration``).

The transport says what "busy" means (its playout) and how to say-then-end; the OpenAI SIP
transport uses this as is (the pjsua2 handler keeps its own loop, which also marks the first
agent audio from its ring).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from gateway.core.agents.spec import PhoneSettings

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
        self._last_activity = time.monotonic()

    def caller_speech(self, active: bool) -> None:
        """The server's VAD: the caller started (or stopped) speaking."""
        self._speaking = active
        self._last_activity = time.monotonic()

    async def run(self) -> None:
        phone = self._phone
        answered = time.monotonic()
        warned = reprompted = False
        while True:
            await asyncio.sleep(self._period)
            now = time.monotonic()
            elapsed = now - answered
            if elapsed >= phone.max_call_duration_s:
                await self._say_and_end(phone.no_input.goodbye, "max_duration")
                return
            if not warned and elapsed >= phone.max_call_duration_s - phone.duration_warning_s:
                warned = True
                await self._say(phone.duration_warning)
            if self._busy() or self._speaking:
                self._last_activity = now
                continue
            silent = now - self._last_activity
            if silent >= phone.no_input.hangup_after_s:
                await self._say_and_end(phone.no_input.goodbye, "no_input")
                return
            if silent >= phone.no_input.reprompt_after_s and not reprompted:
                reprompted = True
                await self._say(phone.no_input.reprompt)
