"""A live call's clock, whatever carries its audio: no input, and the maximum duration.

Sans-I/O: the transport passes ``now`` (``time.monotonic()``) and whether anyone is active,
and says or ends what the clock answers.

* **Maximum duration**: ``duration_warning`` is due ``duration_warning_s`` before the end,
  then the goodbye and the end (``max_duration``).
* **No input**: silence from both sides for ``no_input.reprompt_after_s`` -> the reprompt
  (once); for ``no_input.hangup_after_s`` -> the goodbye and the end (``no_input``). Silence
  restarts whenever the transport reports activity (the agent busy, the caller speaking).
"""

from __future__ import annotations

import enum

from gateway.core.agents.spec import PhoneSettings

__all__ = ["CallClock", "ClockAction"]


class ClockAction(enum.Enum):
    WARN_DURATION = "warn_duration"
    """Say ``phone.duration_warning``."""
    END_MAX_DURATION = "max_duration"
    """Say the goodbye and end the call (outcome ``max_duration``)."""
    REPROMPT = "reprompt"
    """Say ``phone.no_input.reprompt``."""
    END_NO_INPUT = "no_input"
    """Say the goodbye and end the call (outcome ``no_input``)."""


class CallClock:
    def __init__(self, phone: PhoneSettings, now: float) -> None:
        self._phone = phone
        self._answered = now
        self._last_activity = now
        self._warned = self._reprompted = False

    def answered(self, now: float) -> None:
        """The call was answered: the maximum duration counts from here."""
        self._answered = now

    def activity(self, now: float) -> None:
        """Someone spoke or the agent was busy: silence starts again from ``now``."""
        self._last_activity = now

    def duration(self, now: float) -> ClockAction | None:
        """The maximum duration: its warning (once) or the end, if due."""
        phone = self._phone
        elapsed = now - self._answered
        if elapsed >= phone.max_call_duration_s:
            return ClockAction.END_MAX_DURATION
        if not self._warned and elapsed >= phone.max_call_duration_s - phone.duration_warning_s:
            self._warned = True
            return ClockAction.WARN_DURATION
        return None

    def silence(self, now: float, *, active: bool) -> ClockAction | None:
        """No input: the reprompt (once) or the end, if due; ``active`` restarts the silence."""
        if active:
            self._last_activity = now
            return None
        silent = now - self._last_activity
        no_input = self._phone.no_input
        if silent >= no_input.hangup_after_s:
            return ClockAction.END_NO_INPUT
        if silent >= no_input.reprompt_after_s and not self._reprompted:
            self._reprompted = True
            return ClockAction.REPROMPT
        return None
