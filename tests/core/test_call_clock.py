"""The call clock (gateway.core.call_clock): maximum duration and no input, given ``now``."""

from __future__ import annotations

from gateway.core.agents.spec import PhoneSettings
from gateway.core.call_clock import CallClock, ClockAction

PHONE = PhoneSettings.model_validate(
    {
        "max_call_duration_s": 60,
        "duration_warning_s": 10,
        "no_input": {"reprompt_after_s": 5, "hangup_after_s": 12},
    }
)


def test_the_warning_comes_once_then_the_end_at_the_maximum() -> None:
    clock = CallClock(PHONE, 100.0)
    assert clock.duration(149.9) is None
    assert clock.duration(150.0) is ClockAction.WARN_DURATION
    assert clock.duration(155.0) is None
    assert clock.duration(160.0) is ClockAction.END_MAX_DURATION


def test_the_maximum_counts_from_the_answer() -> None:
    clock = CallClock(PHONE, 0.0)
    clock.answered(30.0)
    assert clock.duration(85.0) is ClockAction.WARN_DURATION
    assert clock.duration(89.9) is None
    assert clock.duration(90.0) is ClockAction.END_MAX_DURATION


def test_silence_reprompts_once_then_ends() -> None:
    clock = CallClock(PHONE, 0.0)
    assert clock.silence(4.9, active=False) is None
    assert clock.silence(5.0, active=False) is ClockAction.REPROMPT
    assert clock.silence(8.0, active=False) is None
    assert clock.silence(12.0, active=False) is ClockAction.END_NO_INPUT


def test_activity_restarts_the_silence() -> None:
    clock = CallClock(PHONE, 0.0)
    assert clock.silence(4.0, active=True) is None  # the agent is talking
    assert clock.silence(8.9, active=False) is None
    assert clock.silence(9.0, active=False) is ClockAction.REPROMPT
    clock.activity(10.0)  # the caller spoke
    assert clock.silence(21.9, active=False) is None
    assert clock.silence(22.0, active=False) is ClockAction.END_NO_INPUT
