"""ScenarioModel: verbatim instructions, rules and templates, defaults, tool_choice."""

from __future__ import annotations

import json
from typing import Any

from gateway.emulator.model import (
    ANYTHING_ELSE,
    DEFAULT_GREETING,
    NOT_HEARD,
    Call,
    Say,
    ScenarioModel,
    Turn,
    render,
)
from gateway.emulator.scenario import Rule, Scenario, ToolCallSpec

HOURS = {
    "type": "function",
    "name": "get_hours",
    "description": "Opening hours for a day.",
    "parameters": {
        "type": "object",
        "properties": {"day": {"type": "string", "enum": ["monday", "tuesday"]}},
    },
}
TICKET = {
    "type": "function",
    "name": "create_ticket",
    "description": "Take a message for the team.",
    "parameters": {
        "type": "object",
        "properties": {"summary": {"type": "string"}, "priority": {"type": "integer"}},
        "required": ["summary", "priority"],
    },
}
BILLING = {
    "type": "function",
    "name": "transfer_to_billing",
    "description": "Handoff to the billing agent for invoices and payments.",
    "parameters": {"type": "object", "properties": {}},
}
TOOLS = [HOURS, TICKET, BILLING]


def _reply(turn: Turn, scenario: Scenario | None = None, **kw: Any) -> tuple[Say | Call, ...]:
    return ScenarioModel(scenario or Scenario()).reply(turn, **kw)


def test_say_exactly_in_response_instructions_wins() -> None:
    """'Say exactly: ...' is spoken as written, whatever the turn or the rules."""
    scenario = Scenario(rules=(Rule(caller=".*", say="rule"),))
    for text in ('Say exactly: "Thanks for calling Acme."', "say: Thanks for calling Acme."):
        reply = _reply(Turn("caller", caller="hi"), scenario, response_instructions=text)
        assert reply == (Say("Thanks for calling Acme."),)


def test_default_turns() -> None:
    """Greeting, idle, a request with no new input, and unheard words have fixed answers."""
    assert _reply(Turn("greeting")) == (Say(DEFAULT_GREETING),)
    assert _reply(Turn("idle")) == (Say("Are you still there?"),)
    assert _reply(Turn("again")) == (Say(ANYTHING_ELSE),)
    assert _reply(Turn("caller", caller="")) == (Say(NOT_HEARD),)
    heard = _reply(Turn("caller", caller="just chatting"))
    assert heard == (Say('I heard you say: "just chatting". How else can I help?'),)


def test_rules_fill_templates_from_groups_and_results() -> None:
    """Named groups, {caller} and {result.field} fill say and call arguments."""
    scenario = Scenario(
        rules=(
            Rule(
                caller=r"order (?P<number>\d+)",
                say="Looking up order {number} for '{caller}'.",
                call=ToolCallSpec(name="lookup", arguments={"id": "{number}", "n": 1}),
            ),
            Rule(tool_result="lookup", say="Order {result.order.id} is {result.state} {missing}."),
        )
    )
    lookup = [{"type": "function", "name": "lookup"}]
    first = _reply(Turn("caller", caller="Where is ORDER 42?"), scenario, tools=lookup)
    assert first == (
        Say("Looking up order 42 for 'Where is ORDER 42?'."),
        Call("lookup", json.dumps({"id": "42", "n": 1})),
    )
    result = json.dumps({"order": {"id": 42}, "state": "shipped"})
    second = _reply(Turn("tool_result", tool="lookup", result=result), scenario, tools=lookup)
    assert second == (Say("Order 42 is shipped {missing}."),)


def test_rules_cannot_call_tools_the_response_does_not_offer() -> None:
    """A call to an absent tool is dropped; the words stay."""
    scenario = Scenario(rules=(Rule(caller="x", say="Checking.", call=ToolCallSpec(name="nope")),))
    assert _reply(Turn("caller", caller="x"), scenario, tools=TOOLS) == (Say("Checking."),)


def test_default_matches_caller_words_to_tools_and_handoffs() -> None:
    """Words shared with a tool's name or description pick it; arguments follow its schema."""
    hours = _reply(
        Turn("caller", caller="Are you open on Monday? What are the hours?"), tools=TOOLS
    )
    assert hours == (Call("get_hours", json.dumps({"day": "monday"})),)
    ticket = _reply(Turn("caller", caller="please take a message, 3 times"), tools=TOOLS)
    assert ticket == (
        Call(
            "create_ticket",
            json.dumps({"summary": "please take a message, 3 times", "priority": 3}),
        ),
    )
    billing = _reply(Turn("caller", caller="I have a question about my invoice"), tools=TOOLS)
    assert billing == (Call("transfer_to_billing", "{}"),)


def test_default_reports_tool_results() -> None:
    """After a tool result the model reports it; after a handoff it greets as the new agent."""
    result = _reply(Turn("tool_result", tool="get_hours", result='{"open": "9am", "close": "5pm"}'))
    assert result == (Say("Here is what I found: open 9am, close 5pm."),)
    handoff = _reply(Turn("tool_result", tool="transfer_to_billing", result="{}"))
    assert handoff == (Say("You're now through to billing. How can I help?"),)


def test_tool_choice() -> None:
    """none drops calls; required and a named function force one."""
    caller = Turn("caller", caller="what are your hours")
    assert all(isinstance(p, Say) for p in _reply(caller, tools=TOOLS, tool_choice="none"))
    forced = _reply(
        Turn("caller", caller="hi"),
        tools=TOOLS,
        tool_choice={"type": "function", "name": "create_ticket"},
    )
    assert forced[-1] == Call("create_ticket", json.dumps({"summary": "hi", "priority": 1}))
    required = _reply(Turn("greeting"), tools=TOOLS, tool_choice="required")
    assert isinstance(required[-1], Call) and required[-1].name == "get_hours"


def test_render_leaves_unknown_placeholders() -> None:
    """Unknown names stay as written; non-strings are JSON."""
    assert render("{a} {b.c} {d}", {"a": "x", "b": {"c": [1]}}) == "x [1] {d}"
