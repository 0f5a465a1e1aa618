"""A call's no-input and maximum-duration timers (gateway/app/call_timers.py), with fakes."""

from __future__ import annotations

import asyncio

from gateway.app.call_timers import CallTimers
from gateway.core.agents.spec import NoInputSettings, PhoneSettings


class Phone:
    """Records what the timers say and how they end the call."""

    def __init__(self) -> None:
        self.busy = False
        self.said: list[str] = []
        self.ended: list[tuple[str, str]] = []

    async def say(self, text: str) -> None:
        self.said.append(text)

    async def say_and_end(self, text: str, outcome: str) -> None:
        self.ended.append((text, outcome))


def _timers(phone: Phone, settings: PhoneSettings) -> CallTimers:
    return CallTimers(
        settings,
        busy=lambda: phone.busy,
        say=phone.say,
        say_and_end=phone.say_and_end,
        period_s=0.01,
    )


async def test_silence_gets_one_reprompt_then_the_goodbye() -> None:
    """No one speaks: the reprompt once, then the goodbye ends the call as no_input."""
    no_input = NoInputSettings(reprompt_after_s=0.1, reprompt="Hello?", hangup_after_s=0.2)
    phone = Phone()
    await asyncio.wait_for(_timers(phone, PhoneSettings(no_input=no_input)).run(), 2)
    assert phone.said == ["Hello?"]
    assert phone.ended == [(no_input.goodbye, "no_input")]


async def test_a_busy_agent_or_a_speaking_caller_is_not_silence() -> None:
    """While the agent is busy or the caller speaks, the no-input clock does not run."""
    no_input = NoInputSettings(reprompt_after_s=0.1, hangup_after_s=0.2)
    phone = Phone()
    timers = _timers(phone, PhoneSettings(no_input=no_input))
    task = asyncio.ensure_future(timers.run())
    phone.busy = True
    await asyncio.sleep(0.3)
    phone.busy = False
    timers.caller_speech(True)
    await asyncio.sleep(0.3)
    assert phone.said == [] and phone.ended == []
    timers.caller_speech(False)
    await asyncio.wait_for(task, 2)
    assert phone.ended[0][1] == "no_input"


async def test_the_maximum_duration_warns_then_ends() -> None:
    """The warning comes duration_warning_s before the end; then the goodbye (max_duration)."""
    settings = PhoneSettings.model_construct(
        max_call_duration_s=0.3,
        duration_warning_s=0.15,
        duration_warning="Nearly out of time.",
        no_input=NoInputSettings(reprompt_after_s=50, hangup_after_s=60),
    )
    phone = Phone()
    phone.busy = True  # a lively call: only the duration ends it
    await asyncio.wait_for(_timers(phone, settings).run(), 2)
    assert phone.said == ["Nearly out of time."]
    assert phone.ended == [(settings.no_input.goodbye, "max_duration")]
