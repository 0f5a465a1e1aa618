"""The Python API's guardrail decorators build the same objects as YAML ``python`` guardrails."""

from __future__ import annotations

from gateway.core.agents import input_guardrail, output_guardrail
from gateway.core.agents.guardrails import CustomInput, CustomOutput


@output_guardrail
def no_prices(text: str) -> str | None:
    """Do not quote prices."""
    return "quoted a price" if "£" in text else None


@input_guardrail(action="transfer", target="supervisor", message="Putting you through.")
def wants_manager(text: str) -> str | None:
    return "asked for a manager" if "manager" in text.lower() else None


@output_guardrail(slow=True, name="moderation")
async def moderation(text: str) -> str | None:
    return None


def test_output_guardrail_decorator_trips_with_the_function_reason() -> None:
    """A bare decorator uses the function name; a reason trips, None passes."""
    assert isinstance(no_prices, CustomOutput)
    assert no_prices.name == "no_prices" and not no_prices.slow
    trip = no_prices.check("That is £20.")
    assert trip is not None and trip.reason == "quoted a price"
    assert no_prices.check("That is free.") is None


def test_input_guardrail_decorator_carries_its_action() -> None:
    """Options set the action, target and message of the hit."""
    assert isinstance(wants_manager, CustomInput)
    hit = wants_manager.check("Get me your manager")
    assert hit is not None
    assert (hit.action, hit.target, hit.message) == (
        "transfer",
        "supervisor",
        "Putting you through.",
    )
    assert wants_manager.check("hello") is None


def test_async_guardrails_are_slow() -> None:
    """A coroutine guardrail is slow (run off the delta path) and keeps its given name."""
    assert moderation.slow and moderation.name == "moderation"
