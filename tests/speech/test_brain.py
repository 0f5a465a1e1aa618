"""The rule brain: the shipped scenarios answer each agent of their graph by its session."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.app.agents import build_agent_graph
from gateway.app.config import load_graph_file
from gateway.core.agents.agent import CallContext
from gateway.core.agents.session_config import render_instructions, tool_definitions
from gateway.emulator.model import Call, Say, ScenarioModel, Turn
from gateway.emulator.scenario import Scenario, load_scenario, parse_scenario
from gateway.errors import ConfigError
from gateway.tools import call_center
from tests.speech.conftest import CALL_CENTER, CALL_CENTER_SCENARIO, FRONT_DESK_SCENARIO

GRAPH = build_agent_graph(load_graph_file(CALL_CENTER).spec)
BRAIN = ScenarioModel(load_scenario(CALL_CENTER_SCENARIO))


def _session(agent: str) -> dict[str, Any]:
    """What the emulator sees of an agent: the session's tools and instructions."""
    spec = GRAPH.agents[agent]
    return {
        "tools": tool_definitions(spec),
        "instructions": render_instructions(spec, CallContext(call_id="t", caller="+441")),
    }


def _reply(agent: str, turn: Turn) -> list[Say | Call]:
    return list(BRAIN.reply(turn, **_session(agent)))


def _caller(agent: str, words: str) -> list[Say | Call]:
    return _reply(agent, Turn("caller", caller=words))


def _result(agent: str, tool: str, output: Any) -> list[Say | Call]:
    return _reply(agent, Turn("tool_result", tool=tool, result=json.dumps(output)))


def _calls(reply: list[Say | Call]) -> list[tuple[str, dict[str, Any]]]:
    return [(p.name, json.loads(p.arguments)) for p in reply if isinstance(p, Call)]


def _text(reply: list[Say | Call]) -> str:
    return " ".join(p.text for p in reply if isinstance(p, Say))


def test_triage_hands_a_billing_question_to_billing() -> None:
    """Triage (known by its handoff tools) says so and calls transfer_to_billing."""
    reply = _caller("triage", "I need help with my bill")
    assert _text(reply) == "I'll put you through to billing."
    assert _calls(reply) == [("transfer_to_billing", {})]


@pytest.mark.parametrize(
    ("words", "handoff"),
    [
        ("My internet is not working", "transfer_to_tech_support"),
        ("I want a new plan", "transfer_to_sales"),
        ("I have a question about my broadband bill", "transfer_to_billing"),
    ],
)
def test_triage_routes_by_intent(words: str, handoff: str) -> None:
    """Billing is tried before technical words ("broadband bill" is a billing question)."""
    assert _calls(_caller("triage", words)) == [(handoff, {})]


def test_billing_greets_the_handoff_and_looks_up_the_account() -> None:
    """After the handoff billing asks for the number, then calls get_balance with it."""
    assert "account number" in _text(_result("billing", "transfer_to_billing", {"assistant": "x"}))
    reply = _caller("billing", "My account number is 1001")
    assert _calls(reply) == [("get_balance", {"account_number": "1001"})]


def test_billing_answers_with_the_tool_result_in_a_sentence() -> None:
    """The real tool's output fills the template; an error output gets its own sentence."""
    answer = _text(_result("billing", "get_balance", call_center.get_balance("1001")))
    assert answer.startswith("Your balance is 42.10 pounds, due on the 28th.")
    failed = _text(_result("billing", "get_balance", {"error": "get_balance failed"}))
    assert failed.startswith("Sorry, I can't find that account.")


def test_goodbye_ends_the_call_from_any_agent() -> None:
    """Every agent of the graph answers goodbye with end_call."""
    for agent in GRAPH.agents:
        reply = _caller(agent, "That's all thank you goodbye")
        assert _calls(reply) == [("end_call", {"reason": "caller said goodbye"})], agent
        assert "Goodbye" in _text(reply)


def test_tech_support_checks_the_outage_for_a_spoken_postcode() -> None:
    """A postcode heard as "SW1" reaches check_outage, whose status is read back."""
    assert _calls(_caller("tech_support", "My post code is SW1")) == [
        ("check_outage", {"postcode": "SW1"})
    ]
    status = _text(_result("tech_support", "check_outage", call_center.check_outage("SW1")))
    assert status.startswith("Engineers are fixing a fibre fault")


def test_sales_quotes_one_plan_or_all() -> None:
    """A named plan is looked up alone; a general question gets every price."""
    assert _calls(_caller("sales", "How much is the plus plan")) == [
        ("get_plans", {"plan": "plus"})
    ]
    one = _text(_result("sales", "get_plans", call_center.get_plans("plus")))
    assert one.startswith("Plus is 35 pounds a month")
    every = _text(_result("sales", "get_plans", call_center.get_plans()))
    assert every.startswith("We have basic at 25, plus at 35 and max at 50")


def test_each_agent_has_its_own_fallback() -> None:
    """Words no rule matches get the agent's fallback, not another agent's."""
    assert _text(_caller("triage", "Yes please")).startswith("Sorry, is that about billing")
    assert _text(_caller("billing", "Yes please")).startswith("Sorry, I can help with your bill")


def test_a_tool_the_session_does_not_offer_is_never_called() -> None:
    """Billing words in the sales agent's session hand back to no one: sales has no such rule,
    and the default tool matching finds no billing tool there."""
    assert all(name != "get_balance" for name, _ in _calls(_caller("sales", "my bill")))


def test_an_agent_can_be_recognised_by_its_instructions() -> None:
    """``instructions:`` is a regex searched in the session's instructions."""
    scenario = parse_scenario(
        "agents:\n"
        "  - name: billing\n"
        "    instructions: 'billing agent'\n"
        "    rules: [{caller: 'hello', say: 'Billing here.'}]\n"
        "fallback: 'Nobody here.'\n"
    )
    model = ScenarioModel(scenario)
    turn = Turn("caller", caller="hello")
    assert model.reply(turn, instructions="You are the billing agent.") == (Say("Billing here."),)
    assert model.reply(turn, instructions="You are sales.") == (Say("Nobody here."),)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules: [{intent: nope, say: x}]\n", "rules use unknown intents: nope"),
        ("agents: [{name: a, rules: []}]\n", "an agent is recognised by 'tools', 'instructions'"),
        ("rules: [{caller: a, result: b, say: x}]\n", "'result' narrows a 'tool_result' rule"),
        ("phrases: ['my pin is {pin}']\n", "unknown slot {pin}"),
        ("intents: {a: '(x'}\n", "'intents.a' is not a valid regex"),
    ],
)
def test_brain_mistakes_are_config_errors(text: str, message: str) -> None:
    """Unknown intents, agents without a key, misplaced fields, bad phrases are reported."""
    with pytest.raises(ConfigError) as caught:
        parse_scenario(text, "s.yaml")
    assert any(message in str(issue) for issue in caught.value.issues), caught.value.issues


def test_the_front_desk_scenario_answers_a_day_with_its_hours() -> None:
    """The updated front-desk scenario passes the spoken day to get_hours and reads it back."""
    model = ScenarioModel(load_scenario(FRONT_DESK_SCENARIO))
    tools = [{"type": "function", "name": "get_hours"}]
    reply = model.reply(Turn("caller", caller="Are you open on saturday"), tools=tools)
    assert reply[-1] == Call("get_hours", json.dumps({"day": "saturday"}))
    answer = model.reply(
        Turn("tool_result", tool="get_hours", result=json.dumps({"saturday": "10 am to 2 pm"}))
    )
    assert answer == (Say("On Saturday we are open 10 am to 2 pm. Is there anything else?"),)
    assert Scenario().recognizer == "scripted"  # the default is unchanged
