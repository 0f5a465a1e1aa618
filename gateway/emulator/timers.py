"""A connection's deadlines: the session's maximum duration and the faults injected at set times.

Fault times count from the connection's opening (a call re-attached by ``call_id`` starts them
again); the expiry is the session's, fixed when it was created.
"""

from __future__ import annotations

import enum

from gateway.emulator.faults import ErrorInjection, Faults

__all__ = ["Deadline", "SessionClock"]


class Deadline(enum.Enum):
    DROP = "drop"
    EXPIRED = "expired"


class SessionClock:
    """Reports, as time passes, each injected error, the drop and the expiry once."""

    __slots__ = ("_drop_at", "_errors", "_expires_at")

    def __init__(self, faults: Faults, expires_at: float, now: float) -> None:
        self._expires_at: float | None = expires_at
        drop = faults.drop_after_s
        self._drop_at = None if drop is None else now + drop
        self._errors = sorted(((now + e.after_s, e) for e in faults.errors), key=lambda p: p[0])

    def next_deadline(self) -> float | None:
        times = [self._expires_at, self._drop_at, self._errors[0][0] if self._errors else None]
        return min((t for t in times if t is not None), default=None)

    def due(self, now: float) -> list[ErrorInjection | Deadline]:
        """What has come due by ``now``, in time order."""
        found: list[tuple[float, ErrorInjection | Deadline]] = []
        while self._errors and self._errors[0][0] <= now:
            found.append(self._errors.pop(0))
        if self._drop_at is not None and self._drop_at <= now:
            found.append((self._drop_at, Deadline.DROP))
            self._drop_at = None
        if self._expires_at is not None and self._expires_at <= now:
            found.append((self._expires_at, Deadline.EXPIRED))
            self._expires_at = None
        return [what for _, what in sorted(found, key=lambda p: p[0])]
