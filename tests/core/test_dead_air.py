"""DeadAirWatch: filler, nudge and fallback while a caller waits for a silent agent."""

from __future__ import annotations

from gateway.core.dead_air import DeadAirWatch


def test_nothing_happens_when_nobody_waits() -> None:
    """Without a finished caller turn or a tool, ticks do nothing."""
    watch = DeadAirWatch()
    assert [watch.tick(t, line_quiet=True) for t in (0.0, 10.0, 100.0)] == [None, None, None]


def test_filler_then_more_fillers_then_nudge_then_fallback() -> None:
    """2 s: filler; every 3 s after: filler; 6 s: one nudge; 15 s: fallback (once)."""
    watch = DeadAirWatch(filler_after_s=2, filler_every_s=3, nudge_after_s=6, give_up_s=15)
    watch.caller_done(100.0)
    actions = {t: watch.tick(100.0 + t, line_quiet=True) for t in (1, 2, 3, 5, 6, 8, 11, 15, 16)}
    assert actions == {
        1: None,
        2: "filler",
        3: None,
        5: "filler",
        6: "nudge",
        8: "filler",
        11: "filler",
        15: "fallback",
        16: None,
    }


def test_no_filler_over_audio_that_is_playing() -> None:
    """A filler waits for the line to be quiet (a prompt or agent audio may still play)."""
    watch = DeadAirWatch(filler_after_s=2)
    watch.caller_done(0.0)
    assert watch.tick(2.5, line_quiet=False) is None
    assert watch.tick(2.6, line_quiet=True) == "filler"


def test_agent_audio_ends_the_wait_and_a_new_turn_restarts_it() -> None:
    """Once the agent speaks nothing more happens; the next caller turn starts afresh."""
    watch = DeadAirWatch(filler_after_s=2, nudge_after_s=6)
    watch.caller_done(0.0)
    assert watch.tick(2.0, line_quiet=True) == "filler"
    watch.agent_audio()
    assert not watch.waiting
    assert watch.tick(7.0, line_quiet=True) is None
    watch.caller_done(10.0)
    assert watch.tick(12.0, line_quiet=True) == "filler"
    assert watch.tick(16.0, line_quiet=True) == "nudge"


def test_a_tool_starts_the_wait_only_if_not_already_waiting() -> None:
    """tool_started does not push back a wait that began with the caller's turn."""
    watch = DeadAirWatch(filler_after_s=2)
    watch.caller_done(0.0)
    watch.tool_started(1.5)
    assert watch.tick(2.0, line_quiet=True) == "filler"
