"""Graph files built into live agents: handoffs linked, tools resolved, guardrails, routing."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.app.agents import AgentGraph, build_agent_graph
from gateway.app.config import load_graph_file
from gateway.core.agents import parse_graph
from gateway.core.agents.agent import CallContext, FunctionTool, function_tool
from gateway.core.agents.builtins import END_CALL, TRANSFER_CALL
from gateway.core.agents.guardrails import MaxTurnLength, NoHumanClaim, NoLongDigits, NoUrls
from gateway.runtime.tools import run_tool
from gateway.tools import call_center, front_desk

CONFIGS = Path(__file__).resolve().parents[2] / "agents_config"


def _graph(name: str) -> AgentGraph:
    return build_agent_graph(load_graph_file(CONFIGS / name).spec)


def _tools(graph: AgentGraph, agent: str) -> dict[str, FunctionTool]:
    tools = {}
    for tool in graph.agents[agent].tools:
        assert isinstance(tool, FunctionTool)
        tools[tool.name] = tool
    return tools


def test_front_desk_tools_are_resolved_and_callable() -> None:
    """Python tools point at their functions, keep the YAML settings and can be called."""
    graph = _graph("front_desk.yaml")
    tools = _tools(graph, "receptionist")
    assert list(tools) == ["get_hours", "get_address", "take_message", "end_call", "transfer_call"]
    hours = tools["get_hours"]
    assert hours.invoke is front_desk.get_hours
    assert hours.timeout_s == 3
    assert hours.description == (
        "Opening hours for a day of the week, or the whole week if no day is given."
    )
    assert hours.parameters["properties"]["day"]["type"] == "string"
    assert hours.invoke(day="Thursday") == {"thursday": "9 am to 8 pm"}
    assert tools["get_address"].invoke is not None
    assert "Harbour Street" in tools["get_address"].invoke()["address"]


def test_builtin_phone_tools() -> None:
    """``end_call`` and ``transfer_call`` are the runtime's built-ins, with the graph's targets."""
    tools = _tools(_graph("front_desk.yaml"), "receptionist")
    assert (tools["end_call"].builtin, tools["end_call"].invoke) == (END_CALL, None)
    transfer = tools["transfer_call"]
    assert (transfer.builtin, transfer.invoke) == (TRANSFER_CALL, None)
    assert transfer.parameters["properties"]["target"]["enum"] == ["reception"]


def test_transfer_call_lists_all_call_center_targets() -> None:
    """Every agent's ``transfer_call`` offers the graph's four transfer targets."""
    graph = _graph("call_center.yaml")
    enum = _tools(graph, "billing")["transfer_call"].parameters["properties"]["target"]["enum"]
    assert enum == ["billing_queue", "sales_queue", "supervisor", "tech_queue"]


MINIMAL = """\
agents:
  - name: solo
    instructions: Be brief.
    tools: [end_call]
routes:
  default: solo
"""


def test_end_call_is_available_without_any_declared_tools() -> None:
    """A graph with no ``tools`` section or transfer targets still gets ``end_call``."""
    graph = build_agent_graph(parse_graph(MINIMAL).spec)
    (tool,) = graph.agents["solo"].tools
    assert isinstance(tool, FunctionTool)
    assert tool.builtin == END_CALL
    assert graph.agents["solo"].handoffs == []


def test_call_center_handoffs_link_the_same_agent_objects() -> None:
    """Handoffs point at the built agents themselves: the triage-billing cycle is one object."""
    graph = _graph("call_center.yaml")
    triage, billing = graph.agents["triage"], graph.agents["billing"]
    to_billing = triage.handoff_list()[0]
    assert to_billing.agent is billing
    assert billing.handoff_list()[0].agent is triage
    assert billing.handoff_list()[0].agent.handoff_list()[0].agent is billing
    assert [h.tool_name for h in triage.handoff_list()] == [
        "transfer_to_billing",
        "transfer_to_tech_support",
        "transfer_to_sales",
    ]
    assert to_billing.description == "Questions about bills, balances and payments."
    assert [h.tool_name for h in graph.agents["sales"].handoff_list()] == ["transfer_to_triage"]


def test_call_center_agents_and_their_settings() -> None:
    """Every agent is built with its instructions, tools and guardrail settings."""
    graph = _graph("call_center.yaml")
    assert set(graph.agents) == {"triage", "billing", "tech_support", "sales"}
    tech = graph.agents["tech_support"]
    assert isinstance(tech.instructions, str)
    assert tech.instructions.startswith("You are technical support.")
    assert list(_tools(graph, "tech_support")) == [
        "check_outage",
        "create_ticket",
        "transfer_call",
        "end_call",
    ]
    assert _tools(graph, "tech_support")["check_outage"].invoke is call_center.check_outage
    assert tech.voice is None
    assert tech.guardrail_debounce_chars == 100
    assert tech.guardrail_feedback.startswith("Your last answer broke a phone rule")


def test_tool_objects_are_shared_between_agents() -> None:
    """A tool several agents list is built once and shared."""
    graph = _graph("call_center.yaml")
    assert _tools(graph, "billing")["end_call"] is _tools(graph, "sales")["end_call"]


def test_guardrails_are_built() -> None:
    """Output guardrails are built in order with their settings; input ones act as configured."""
    graph = _graph("front_desk.yaml")
    agent = graph.agents["receptionist"]
    kinds = [type(g) for g in agent.output_guardrails]
    assert kinds == [NoUrls, NoLongDigits, MaxTurnLength, NoHumanClaim]
    assert agent.output_guardrails[2].check("x" * 501) is not None
    assert agent.output_guardrails[2].check("x" * 400) is None
    (emergency,) = agent.input_guardrails
    hit = emergency.check("I'm in severe pain, please help")
    assert hit is not None
    assert (hit.action, hit.target, hit.reason) == ("transfer", "reception", "severe pain")
    assert hit.message == "I'm putting you through to reception straight away."
    assert emergency.check("When are you open?") is None


def test_shared_guardrail_anchor_reaches_every_call_center_agent() -> None:
    """The ``x-shared-guardrails`` anchor gives each agent the supervisor transfer rule."""
    graph = _graph("call_center.yaml")
    for agent in graph.agents.values():
        assert len(agent.output_guardrails) == 4
        (rule,) = agent.input_guardrails
        hit = rule.check("Let me talk to your MANAGER.")
        assert hit is not None and (hit.action, hit.target) == ("transfer", "supervisor")


@pytest.mark.parametrize(
    ("dialed", "caller", "agent"),
    [
        ("sip:+448001001@gw.example.com", '"Ann" <sip:+441632960000@carrier>', "billing"),
        ("sip:8001002@10.0.0.5:5060;transport=udp", "sip:anon@x", "tech_support"),
        ("tel:+448001002", "", "tech_support"),
        ("<sips:8001001@gw>", "", "billing"),
        ("sip:8001003@gw", "sip:+441632960000@carrier", "triage"),
        ("8001001", "", "billing"),
    ],
)
def test_entry_agent_by_dialed_uri(dialed: str, caller: str, agent: str) -> None:
    """The entry agent comes from the user part of the dialed URI (and the caller's)."""
    graph = _graph("call_center.yaml")
    assert graph.entry_agent(dialed, caller) is graph.agents[agent]


def test_front_desk_sends_every_call_to_the_receptionist() -> None:
    """With only a default route, whatever is dialed reaches the receptionist."""
    graph = _graph("front_desk.yaml")
    assert graph.entry_agent("sip:anything@host").name == "receptionist"


def test_session_settings() -> None:
    """Session settings carry the graph's session defaults, phone settings and tracing."""
    graph = _graph("call_center.yaml")
    settings = graph.session_settings(call_id="call-42")
    assert settings.defaults is graph.spec.session
    assert dict(settings.transfer_targets) == {
        "billing_queue": "sip:billing-queue@127.0.0.1:5090",
        "tech_queue": "sip:tech-queue@127.0.0.1:5090",
        "sales_queue": "sip:sales-queue@127.0.0.1:5090",
        "supervisor": "sip:supervisor@127.0.0.1:5090",
    }
    assert settings.greeting is not None and settings.greeting.startswith("Welcome to Springfield")
    assert settings.tracing is not None
    assert (settings.tracing.workflow_name, settings.tracing.group_id) == ("call-center", "call-42")
    assert settings.sip_attach is False
    assert graph.session_settings(sip_attach=True).sip_attach is True


def test_session_settings_defaults_without_name_or_call_id() -> None:
    """An unnamed graph traces as ``voicegw``; without a call id there is no group id."""
    settings = build_agent_graph(parse_graph(MINIMAL).spec).session_settings()
    assert settings.tracing is not None
    assert (settings.tracing.workflow_name, settings.tracing.group_id) == ("voicegw", None)
    assert settings.greeting is None
    assert dict(settings.transfer_targets) == {}


def lookup_order(order_id: str, ctx: CallContext, verbose: bool = False) -> dict[str, Any]:
    """Find an order
    placed by the caller.

    Only the caller's own orders are visible.
    """
    return {"order": order_id, "caller": ctx.caller, "call": ctx.call_id, "verbose": verbose}


CTX_GRAPH = """\
tools:
  - name: lookup_order
    python: shop.orders:lookup_order
    approval: confirm
    background: true
  - name: with_schema
    python: shop.orders:lookup_order
    description: Given.
    parameters: {type: object, properties: {order_id: {type: string}}, required: [order_id]}
agents:
  - name: shop
    instructions: Sell.
    tools: [lookup_order, with_schema]
    guardrails:
      output:
        - type: python
          function: shop.rails:no_prices
routes: {default: shop}
"""


def no_prices(text: str) -> str | None:
    return "price" if "£" in text else None


def _resolver(calls: list[str]) -> Callable[[str], Callable[..., Any]]:
    table: dict[str, Callable[..., Any]] = {
        "shop.orders:lookup_order": lookup_order,
        "shop.rails:no_prices": no_prices,
    }

    def resolve(path: str) -> Callable[..., Any]:
        calls.append(path)
        return table[path]

    return resolve


def _shop() -> tuple[AgentGraph, list[str]]:
    calls: list[str] = []
    graph = build_agent_graph(parse_graph(textwrap.dedent(CTX_GRAPH)).spec, _resolver(calls))
    return graph, calls


def test_python_tool_with_ctx_gets_the_call_context() -> None:
    """A tool function taking ``ctx`` is marked ``wants_context``; ``ctx`` is not in its schema."""
    graph, calls = _shop()
    tool = _tools(graph, "shop")["lookup_order"]
    assert tool.wants_context is True
    assert tool.parameters["required"] == ["order_id"]
    assert set(tool.parameters["properties"]) == {"order_id", "verbose"}
    assert (tool.approval, tool.background) == ("confirm", True)
    assert _tools(graph, "shop")["with_schema"].wants_context is True
    assert "shop.orders:lookup_order" in calls
    assert "shop.rails:no_prices" in calls


async def test_python_tool_with_ctx_runs_with_the_context() -> None:
    """Run by the runtime, such a tool receives the call's context next to its arguments."""
    graph, _ = _shop()
    tool = _tools(graph, "shop")["lookup_order"]
    ctx = CallContext("call-7", caller="+441234")
    outcome = await run_tool(tool, '{"order_id": "A1"}', ctx)
    assert outcome.ok is True
    assert json.loads(outcome.output) == {
        "order": "A1",
        "caller": "+441234",
        "call": "call-7",
        "verbose": False,
    }


def test_python_guardrails_are_resolved_with_the_resolver() -> None:
    """A ``python`` guardrail calls the function the resolver returned."""
    graph, _ = _shop()
    (rail,) = graph.agents["shop"].output_guardrails
    assert rail.check("That is £5.") is not None
    assert rail.check("That is five pounds.") is None


def test_yaml_description_wins_over_the_docstring() -> None:
    """A description given in the YAML replaces the function's docstring."""
    graph, _ = _shop()
    assert _tools(graph, "shop")["with_schema"].description == "Given."
    assert _tools(graph, "shop")["with_schema"].parameters == {
        "type": "object",
        "properties": {"order_id": {"type": "string"}},
        "required": ["order_id"],
    }


def test_docstring_description_matches_function_tool() -> None:
    """A YAML python tool without a description is described as function_tool describes it."""
    graph, _ = _shop()
    yaml_tool = _tools(graph, "shop")["lookup_order"]
    assert yaml_tool.description == function_tool(lookup_order).description
