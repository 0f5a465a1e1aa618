"""Realtime session objects built from an agent (initial and handoff updates), and the built-in
phone tools they carry; every session is checked against the official GA client types."""

from __future__ import annotations

import json
import textwrap
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.core.agents import parse_graph
from gateway.core.agents.agent import (
    CallContext,
    McpTool,
    RealtimeAgent,
    ToolArgumentsError,
    function_tool,
    handoff,
)
from gateway.core.agents.builtins import (
    END_CALL,
    TRANSFER_CALL,
    end_call_tool,
    transfer_call_tool,
)
from gateway.core.agents.session_config import (
    SIP_ACCEPT_TURN_FIELDS,
    agent_update,
    initial_session,
)
from gateway.core.agents.spec import SessionDefaults
from gateway.core.realtime.wire_client import (
    SessionConfig,
    SessionUpdate,
    TracingConfig,
    encode_client_event,
)
from tests.realtime_contract import assert_ga_client_event

CONFIGS = Path(__file__).resolve().parents[3] / "agents_config"

CTX = CallContext(
    call_id="call-1", caller="+441632960000", dialed="8001001", now=datetime(2025, 1, 6, 9, 30)
)


def _wire(session: SessionConfig) -> dict[str, Any]:
    """The ``session`` as sent in ``session.update``, after checking the event is GA-valid."""
    event: dict[str, Any] = json.loads(encode_client_event(SessionUpdate(session=session)))
    assert_ga_client_event(event)
    session_json: dict[str, Any] = event["session"]
    return session_json


def _graph_defaults(session_yaml: str) -> SessionDefaults:
    text = "session:\n" + textwrap.indent(textwrap.dedent(session_yaml), "  ")
    text += "agents: [{name: a, instructions: Hi.}]\nroutes: {default: a}\n"
    return parse_graph(text).spec.session


@function_tool
def get_balance(account_number: str) -> str:
    """Balance of an account."""
    return account_number


def _agent(**fields: Any) -> RealtimeAgent:
    return RealtimeAgent(**{"name": "billing", "instructions": "You do billing.", **fields})


@pytest.mark.parametrize(
    ("spelling", "fmt"),
    [
        ("audio/pcmu", {"type": "audio/pcmu"}),
        ("g711_ulaw", {"type": "audio/pcmu"}),
        ("audio/pcma", {"type": "audio/pcma"}),
        ("g711_alaw", {"type": "audio/pcma"}),
        ("audio/pcm", {"type": "audio/pcm", "rate": 24000}),
    ],
)
def test_formats_follow_the_graph_audio_format(spelling: str, fmt: dict[str, Any]) -> None:
    """Input and output formats both come from ``session.audio_format``, in GA form."""
    defaults = _graph_defaults(f"audio_format: {spelling}\n")
    session = _wire(initial_session(_agent(), defaults, CTX))
    assert session["audio"]["input"]["format"] == fmt
    assert session["audio"]["output"]["format"] == fmt


def test_initial_session_from_the_call_center_graph() -> None:
    """The shipped graph's settings all land in a full, GA-valid session."""
    spec = parse_graph((CONFIGS / "call_center.yaml").read_text()).spec
    session = _wire(initial_session(_agent(), spec.session, CTX))
    assert session["type"] == "realtime"
    assert session["model"] == "gpt-realtime"
    assert session["output_modalities"] == ["audio"]
    assert session["tool_choice"] == "auto"
    assert session["max_output_tokens"] == "inf"
    assert session["audio"]["input"]["transcription"] == {
        "model": "gpt-4o-mini-transcribe",
        "language": "en",
    }
    assert session["audio"]["input"]["turn_detection"] == {
        "type": "server_vad",
        "silence_duration_ms": 500,
        "create_response": True,
        "interrupt_response": True,
    }
    assert session["audio"]["output"]["voice"] == "marin"
    assert "tracing" not in session


def test_agent_voice_wins_over_the_default() -> None:
    """An agent with its own voice speaks with it; one without uses the graph's voice."""
    defaults = SessionDefaults(voice="marin")
    own = _wire(initial_session(_agent(voice="cedar"), defaults, CTX))
    inherited = _wire(initial_session(_agent(), defaults, CTX))
    assert own["audio"]["output"]["voice"] == "cedar"
    assert inherited["audio"]["output"]["voice"] == "marin"


def test_instructions_are_rendered_for_the_call() -> None:
    """``{caller}``, ``{dialed}`` and ``{now}`` are filled; other braces stay as written."""
    agent = _agent(instructions='Caller {caller} dialled {dialed} at {now}. Say {"a": 1} {x}.')
    session = _wire(initial_session(agent, SessionDefaults(), CTX))
    assert session["instructions"] == (
        'Caller +441632960000 dialled 8001001 at Monday 06 January 2025, 09:30. Say {"a": 1} {x}.'
    )


def test_dynamic_instructions_get_the_call_and_the_agent() -> None:
    """Callable instructions are called with the context and agent, then rendered too."""
    seen: list[tuple[CallContext, RealtimeAgent]] = []

    def instructions(ctx: CallContext, agent: RealtimeAgent) -> str:
        seen.append((ctx, agent))
        return f"I am {agent.name} on {ctx.call_id}; the caller is {{caller}}."

    agent = _agent(instructions=instructions)
    session = _wire(initial_session(agent, SessionDefaults(), CTX))
    assert session["instructions"] == "I am billing on call-1; the caller is +441632960000."
    assert seen == [(CTX, agent)]


def test_tools_include_functions_mcp_and_handoffs() -> None:
    """Function and MCP tools in the agent's order, then one ``transfer_to_<agent>`` per handoff."""
    triage = RealtimeAgent("triage", "Route.", handoff_description="Anything else.")
    sales = RealtimeAgent("sales", "Sell.")
    mcp = McpTool("docs", {"server_label": "docs", "server_url": "https://mcp.example.com/sse"})
    agent = _agent(
        tools=[get_balance, mcp, end_call_tool()],
        handoffs=[triage, handoff(sales, description="Prices.")],
    )
    tools = _wire(initial_session(agent, SessionDefaults(), CTX))["tools"]
    assert [t.get("name") or t["server_label"] for t in tools] == [
        "get_balance",
        "docs",
        "end_call",
        "transfer_to_triage",
        "transfer_to_sales",
    ]
    assert tools[0] == get_balance.definition()
    assert tools[1] == {
        "type": "mcp",
        "server_label": "docs",
        "server_url": "https://mcp.example.com/sse",
    }
    assert tools[3]["description"] == "Anything else."
    assert tools[4]["description"] == "Prices."
    assert tools[4]["parameters"] == {
        "type": "object",
        "properties": {},
        "additionalProperties": False,
    }


def test_tracing_is_passed_through() -> None:
    """A tracing config given by the caller is sent as is."""
    tracing = TracingConfig(workflow_name="call-center", group_id="call-1", metadata={"k": "v"})
    session = _wire(initial_session(_agent(), SessionDefaults(), CTX, tracing=tracing))
    assert session["tracing"] == {
        "workflow_name": "call-center",
        "group_id": "call-1",
        "metadata": {"k": "v"},
    }


def test_disabled_vad_sends_null_turn_detection() -> None:
    """``turn_detection: null`` in the graph is sent as an explicit null (which turns VAD off)."""
    defaults = _graph_defaults("turn_detection: null\n")
    for sip_accept in (False, True):
        session = _wire(initial_session(_agent(), defaults, CTX, sip_accept=sip_accept))
        assert "turn_detection" in session["audio"]["input"]
        assert session["audio"]["input"]["turn_detection"] is None


def test_no_transcription_when_the_graph_disables_it() -> None:
    """``transcription: null`` leaves transcription out of the session."""
    session = _wire(initial_session(_agent(), _graph_defaults("transcription: null\n"), CTX))
    assert "transcription" not in session["audio"]["input"]


def test_noise_reduction_speed_and_token_limit_pass_through() -> None:
    """Optional session settings are sent when the graph sets them."""
    defaults = SessionDefaults(noise_reduction="near_field", speed=1.2, max_output_tokens=300)
    session = _wire(initial_session(_agent(), defaults, CTX))
    assert session["audio"]["input"]["noise_reduction"] == {"type": "near_field"}
    assert session["audio"]["output"]["speed"] == 1.2
    assert session["max_output_tokens"] == 300


SERVER_VAD = """\
turn_detection:
  type: server_vad
  threshold: 0.6
  prefix_padding_ms: 300
  silence_duration_ms: 500
  idle_timeout_ms: 6000
  create_response: true
  interrupt_response: false
"""


def test_sip_accept_omits_formats_and_refused_turn_fields() -> None:
    """For SIP accept: no formats at all, and only the turn-detection fields accept takes."""
    defaults = _graph_defaults(SERVER_VAD)
    full = _wire(initial_session(_agent(), defaults, CTX))
    assert full["audio"]["input"]["turn_detection"]["threshold"] == 0.6
    session = _wire(initial_session(_agent(), defaults, CTX, sip_accept=True))
    assert "format" not in session["audio"]["input"]
    assert "format" not in session["audio"]["output"]
    turn = session["audio"]["input"]["turn_detection"]
    assert turn == {
        "type": "server_vad",
        "idle_timeout_ms": 6000,
        "create_response": True,
        "interrupt_response": False,
    }
    assert set(turn) <= SIP_ACCEPT_TURN_FIELDS
    assert session["audio"]["output"]["voice"] == "marin"
    assert session["instructions"] == "You do billing."


def test_sip_accept_keeps_semantic_vad_eagerness() -> None:
    """``eagerness`` is one of the fields accept takes, so semantic VAD keeps it."""
    defaults = _graph_defaults("turn_detection: {type: semantic_vad, eagerness: low}\n")
    session = _wire(initial_session(_agent(), defaults, CTX, sip_accept=True))
    assert session["audio"]["input"]["turn_detection"] == {
        "type": "semantic_vad",
        "eagerness": "low",
        "create_response": True,
        "interrupt_response": True,
    }


def test_sip_accept_turn_fields_exclude_the_vad_tuning() -> None:
    """The accept whitelist leaves out threshold, prefix padding and silence duration."""
    assert {"threshold", "prefix_padding_ms", "silence_duration_ms"}.isdisjoint(
        SIP_ACCEPT_TURN_FIELDS
    )


def test_agent_update_is_sparse() -> None:
    """A handoff update carries instructions and tools only: no model, formats or VAD."""
    triage = RealtimeAgent("triage", "Route.")
    agent = _agent(voice="cedar", tools=[get_balance], handoffs=[triage])
    session = _wire(agent_update(agent, CTX))
    assert set(session) == {"type", "instructions", "tools"}
    assert session["instructions"] == "You do billing."
    assert [t["name"] for t in session["tools"]] == ["get_balance", "transfer_to_triage"]


def test_agent_update_with_voice_sets_only_the_output_voice() -> None:
    """Given a voice, the update adds ``audio.output.voice`` and nothing else under audio."""
    session = _wire(agent_update(_agent(instructions="Hello {caller}."), CTX, voice="cedar"))
    assert set(session) == {"type", "instructions", "tools", "audio"}
    assert session["audio"] == {"output": {"voice": "cedar"}}
    assert session["instructions"] == "Hello +441632960000."
    assert session["tools"] == []


def test_end_call_tool() -> None:
    """``end_call`` is a runtime-handled tool taking an optional reason, nothing else."""
    tool = end_call_tool()
    assert (tool.name, tool.builtin, tool.invoke) == (END_CALL, END_CALL, None)
    assert tool.parameters == {
        "type": "object",
        "properties": {"reason": {"type": "string", "description": "Why the call ends."}},
        "additionalProperties": False,
    }
    assert tool.validate_arguments({}) == {}
    assert "goodbye" in tool.description


def test_transfer_call_tool_enumerates_the_targets() -> None:
    """``transfer_call`` requires one of the sorted target names, which it lists for the model."""
    tool = transfer_call_tool({"tech_queue": "sip:t@pbx", "billing_queue": "sip:b@pbx"})
    assert (tool.name, tool.builtin, tool.invoke) == (TRANSFER_CALL, TRANSFER_CALL, None)
    assert tool.parameters == {
        "type": "object",
        "properties": {"target": {"type": "string", "enum": ["billing_queue", "tech_queue"]}},
        "required": ["target"],
        "additionalProperties": False,
    }
    assert "Targets: billing_queue, tech_queue." in tool.description
    assert tool.timeout_s == 30.0
    assert tool.validate_arguments({"target": "tech_queue"}) == {"target": "tech_queue"}
    with pytest.raises(ToolArgumentsError, match=r"^target: "):
        tool.validate_arguments({"target": "sip:anyone@evil.example"})
