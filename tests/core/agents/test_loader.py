"""Agent-graph YAML: the shipped graphs load; broken graphs report every error with its line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from gateway.core.agents import GraphSpec, parse_graph
from gateway.core.agents.spec import render_placeholders
from gateway.core.audio import AudioCodec
from gateway.errors import ConfigError

CONFIGS = Path(__file__).resolve().parents[3] / "agents_config"

MINIMAL = """\
agents:
  - name: solo
    instructions: Be brief.
routes:
  default: solo
"""


def _errors(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_graph(textwrap.dedent(text), "g.yaml")
    return [str(issue) for issue in info.value.issues]


@pytest.mark.parametrize("name", ["front_desk.yaml", "call_center.yaml"])
def test_shipped_graphs_are_valid(name: str) -> None:
    """Both bundled graphs parse, with their routes pointing at real agents."""
    spec = parse_graph((CONFIGS / name).read_text(), name).spec
    assert spec.agent(spec.routes.default).name == spec.routes.default
    assert spec.session.audio_format is AudioCodec.PCMU


def test_call_center_graph_has_the_triage_cycle() -> None:
    """Triage hands off to three specialists and each can hand back (cycles are allowed)."""
    spec = parse_graph((CONFIGS / "call_center.yaml").read_text()).spec
    assert spec.agent("triage").handoffs == ["billing", "tech_support", "sales"]
    assert all(spec.agent(a).handoffs == ["triage"] for a in ("billing", "tech_support", "sales"))
    assert set(spec.phone.transfer_targets) >= {"billing_queue", "tech_queue", "sales_queue"}


def test_minimal_graph_gets_defaults() -> None:
    """Only agents and routes are required; session and phone take documented defaults."""
    spec = parse_graph(MINIMAL).spec
    assert spec.session.model == "gpt-realtime"
    assert spec.session.turn_detection is not None
    assert spec.session.turn_detection.interrupt_response is True
    assert spec.phone.no_input.reprompt_after_s == 8.0


def test_bad_yaml_reports_the_line() -> None:
    """A YAML syntax error names the line where the parser gave up."""
    bad_indent = "agents:\n  - name: a\n    instructions: x\n   tools: [a]\nroutes: {}\n"
    assert _errors(bad_indent) == [
        "g.yaml:4: invalid YAML: expected <block end>, but found '<block mapping start>'"
    ]
    assert _errors("a:\n\tb: 1\n") == [
        "g.yaml:2: invalid YAML: found character '\\t' that cannot start any token"
    ]


def test_unknown_handoff_target_names_the_field_and_line() -> None:
    """A handoff to an undeclared agent is reported at that list item."""
    errors = _errors("""\
        agents:
          - name: triage
            instructions: Route the caller.
            handoffs: [billing, sails]
          - name: billing
            instructions: Bills.
        routes:
          default: triage
        """)
    assert errors == [
        "g.yaml:4: agents[0].handoffs[1]: unknown agent 'sails' (known: billing, triage)"
    ]


def test_missing_tool_is_reported() -> None:
    """An agent tool that is neither declared nor built in is an error."""
    errors = _errors("""\
        agents:
          - name: a
            instructions: x
            tools: [get_hours, end_call]
        routes: {default: a}
        """)
    assert errors == [
        "g.yaml:4: agents[0].tools[0]: unknown tool 'get_hours' (known: end_call, transfer_call)"
    ]


def test_wrong_type_is_reported_at_the_value() -> None:
    """A string where a number belongs names the field and its line."""
    errors = _errors("""\
        session:
          turn_detection:
            silence_duration_ms: soon
        agents:
          - name: a
            instructions: x
        routes: {default: a}
        """)
    assert len(errors) == 1
    assert errors[0].startswith(
        "g.yaml:3: session.turn_detection.silence_duration_ms: Input should"
    )


def test_every_error_is_reported_not_just_the_first() -> None:
    """Schema errors, unknown fields, bad references and placeholders all come out together."""
    errors = _errors("""\
        session:
          audio_format: opus
        phone:
          transfer_targets:
            desk: "sip:desk@pbx"
        tools:
          - name: lookup
            python: "no colon here"
        agents:
          - name: a
            instructions: "Hello {callr}"
            tools: [lookup, transfer_call, ghost]
            handoffs: [a]
            colour: blue
            guardrails:
              output:
                - type: no_urlz
              input:
                - type: phrases
                  phrases: [help]
                  action: transfer
                  target: nowhere
        routes:
          default: b
          rules:
            - dialed: "(a"
              agent: a
        """)
    assert errors == [
        "g.yaml:2: session.audio_format: unknown codec 'opus'",
        "g.yaml:8: tools[0].python: 'no colon here' is not an import path "
        "'package.module:function'",
        "g.yaml:11: agents[0].instructions: unknown placeholder {callr} "
        "(known: {caller}, {dialed}, {now})",
        "g.yaml:12: agents[0].tools[2]: unknown tool 'ghost' "
        "(known: end_call, lookup, transfer_call)",
        "g.yaml:13: agents[0].handoffs[0]: an agent cannot hand off to itself",
        "g.yaml:14: agents[0].colour: unknown field",
        "g.yaml:17: agents[0].guardrails.output[0]: Input tag 'no_urlz' found using 'type' "
        "does not match any of the expected tags: 'no_urls', 'no_long_digits', "
        "'max_turn_length', 'no_human_claim', 'python'",
        "g.yaml:22: agents[0].guardrails.input[0].target: unknown transfer target 'nowhere' "
        "(known: desk)",
        "g.yaml:24: routes.default: unknown agent 'b' (known: a)",
        "g.yaml:26: routes.rules[0].dialed: bad pattern '(a': missing ), unterminated "
        "subpattern at position 0",
    ]


def test_missing_required_field_points_at_its_parent() -> None:
    """A missing field is reported at the item that lacks it."""
    errors = _errors("""\
        agents:
          - name: a
            instructions: x
          - name: b
        routes: {default: a}
        """)
    assert errors == ["g.yaml:4: agents[1].instructions: Field required"]


def test_duplicate_names_and_keys_are_errors() -> None:
    """Two agents with one name, or a key given twice, are reported."""
    errors = _errors("""\
        agents:
          - name: a
            instructions: x
            instructions: y
          - name: a
            instructions: z
        routes: {default: a}
        """)
    assert errors == [
        "g.yaml:4: agents[0].instructions: duplicate key 'instructions'",
        "g.yaml:5: agents[1].name: duplicate agent name 'a'",
    ]


def test_tool_shape_rules() -> None:
    """A tool needs exactly one implementation; http tools need a schema; mcp needs a server.

    Whole-tool rules run once the tool's fields are valid, so ``http_no_schema`` reports its
    malformed header first; fixing that would then report the missing schema.
    """
    errors = _errors("""\
        tools:
          - name: both
            python: m:f
            http: {url: "https://x.example/y", method: POST}
            parameters: {type: object}
          - name: http_no_schema
            http: {url: "https://x.example/y", headers: {Authorization: "Bearer ${TOKEN"}}
          - name: mcp_no_server
            mcp: {server_label: docs}
        agents:
          - name: a
            instructions: x
        routes: {default: a}
        """)
    assert errors == [
        "g.yaml:2: tools[0]: a tool needs exactly one of python, http, mcp (found: python, http)",
        "g.yaml:7: tools[1].http.headers: malformed ${ENV} reference in header value "
        "'Bearer ${TOKEN'",
        "g.yaml:9: tools[2].mcp: an mcp tool needs server_url or connector_id",
    ]
    no_schema = _errors("""\
        tools:
          - name: http_no_schema
            http: {url: "https://x.example/y"}
        agents: [{name: a, instructions: x}]
        routes: {default: a}
        """)
    assert no_schema == [
        "g.yaml:2: tools[0]: an http tool needs 'parameters' (a JSON Schema object)"
    ]


def test_non_mapping_and_empty_files() -> None:
    """An empty file or a list at the top level is a clear error, not a crash."""
    assert _errors("") == ["g.yaml:1: the file is empty"]
    assert _errors("- a\n- b\n") == ["g.yaml:1: the top level must be a mapping"]


def test_extension_keys_allow_yaml_anchors() -> None:
    """Top-level x- keys hold shared YAML anchors and are not validated as config."""
    spec = parse_graph("x-rules: &r {output: [{type: no_urls}]}\n" + MINIMAL).spec
    assert isinstance(spec, GraphSpec)


def test_programmatic_construction_checks_references_too() -> None:
    """Building a GraphSpec in Python (not from YAML) still refuses dangling names."""
    with pytest.raises(ValueError, match="unknown agent 'zz'"):
        GraphSpec.model_validate(
            {"agents": [{"name": "a", "instructions": "x"}], "routes": {"default": "zz"}}
        )


def test_placeholders_render_and_leave_other_braces() -> None:
    """{caller}, {dialed}, {now} are filled; JSON-ish braces are left alone."""
    text = 'Caller {caller} dialled {dialed} at {now}; reply {"ok": true}'
    assert render_placeholders(text, {"caller": "+441", "dialed": "100", "now": "noon"}) == (
        'Caller +441 dialled 100 at noon; reply {"ok": true}'
    )
