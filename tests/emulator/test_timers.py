"""SessionClock: each injected error, the drop and the expiry come due once, in order."""

from __future__ import annotations

from gateway.emulator.faults import ErrorInjection, Faults
from gateway.emulator.timers import Deadline, SessionClock


def test_deadlines_come_due_in_time_order_and_only_once() -> None:
    """Errors at 1 s and 3 s, drop at 2 s, expiry at 5 s."""
    late, early = ErrorInjection(after_s=3), ErrorInjection(after_s=1, code="x")
    clock = SessionClock(Faults(errors=(late, early), drop_after_s=2), 15.0, now=10.0)
    assert clock.next_deadline() == 11.0
    assert clock.due(10.5) == []
    assert clock.due(12.0) == [early, Deadline.DROP]
    assert clock.next_deadline() == 13.0
    assert clock.due(20.0) == [late, Deadline.EXPIRED]
    assert clock.next_deadline() is None and clock.due(30.0) == []
