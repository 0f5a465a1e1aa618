"""No dead air: what to do while a caller waits for an agent that says nothing (sans-I/O).

The caller finished speaking (or a tool is running) and no agent audio has come since. After
``filler_after_s`` the gateway plays a short filler ("One moment, please."), again every
``filler_every_s`` while the wait lasts, so the line is never silent for more than about three
seconds. At ``nudge_after_s`` it asks the model for a response once more (an error event may
have eaten the turn). At ``give_up_s`` it falls back (apology, then transfer or hang-up).

::

    waiting since t0, no agent audio       action
    now - t0 >= filler_after_s              filler (then every filler_every_s)
    now - t0 >= nudge_after_s  (once)       nudge
    now - t0 >= give_up_s      (once)       fallback
    agent audio arrives                     (stop waiting)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["DeadAirAction", "DeadAirWatch"]

DeadAirAction = Literal["filler", "nudge", "fallback"]


@dataclass(slots=True)
class DeadAirWatch:
    filler_after_s: float = 2.0
    filler_every_s: float = 3.0
    nudge_after_s: float = 6.0
    give_up_s: float = 15.0
    waiting_since: float | None = None
    _next_filler: float = 0.0
    _nudged: bool = False
    _gave_up: bool = False

    def caller_done(self, now: float) -> None:
        """The caller stopped speaking: from now on the agent owes an answer."""
        self._start(now)

    def tool_started(self, now: float) -> None:
        """A tool runs: the caller waits for its result (unless already waiting)."""
        if self.waiting_since is None:
            self._start(now)

    def agent_audio(self) -> None:
        """The agent spoke: no longer waiting."""
        self.waiting_since = None

    def _start(self, now: float) -> None:
        self.waiting_since = now
        self._next_filler = now + self.filler_after_s
        self._nudged = self._gave_up = False

    @property
    def waiting(self) -> bool:
        return self.waiting_since is not None

    def tick(self, now: float, line_quiet: bool) -> DeadAirAction | None:
        """What to do now; ``line_quiet``: nothing is being played to the caller."""
        since = self.waiting_since
        if since is None or self._gave_up:
            return None
        waited = now - since
        if waited >= self.give_up_s and not self._gave_up:
            self._gave_up = True
            return "fallback"
        if waited >= self.nudge_after_s and not self._nudged:
            self._nudged = True
            return "nudge"
        if line_quiet and now >= self._next_filler:
            self._next_filler = now + self.filler_every_s
            return "filler"
        return None
