"""Scenario files: valid YAML loads; every mistake is reported with its line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.emulator.scenario import Scenario, load_scenario, parse_scenario
from gateway.errors import ConfigError

GOOD = """\
version: 1
voice: tones
greeting: "Acme, good morning."
caller_transcripts: ["opening hours please", "billing"]
rules:
  - caller: "opening hours|open on (?P<day>\\\\w+)"
    say: "Let me check."
    call: {name: get_hours, arguments: {day: "{day}"}}
  - tool_result: get_hours
    say: "We open at {result.open}."
  - caller: billing
    handoff: billing
faults: {drop_after_s: 30, errors: [{after_s: 5, code: server_error}]}
"""


def _issues(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_scenario(text, "s.yaml")
    return [str(issue) for issue in caught.value.issues]


def test_a_complete_scenario_loads(tmp_path: Path) -> None:
    """Every section parses into the model; handoffs become transfer_to_<agent> calls."""
    path = tmp_path / "s.yaml"
    path.write_text(GOOD)
    scenario = load_scenario(path)
    assert scenario.voice == "tones" and scenario.caller_transcripts[1] == "billing"
    assert scenario.rules[0].tool_call is not None
    assert scenario.rules[0].tool_call.arguments == {"day": "{day}"}
    handoff = scenario.rules[2].tool_call
    assert handoff is not None and handoff.name == "transfer_to_billing"
    assert scenario.faults.drop_after_s == 30 and scenario.faults.errors[0].after_s == 5


def test_an_empty_mapping_is_the_default_scenario() -> None:
    """{} gives the built-in behaviour."""
    assert parse_scenario("{}") == Scenario()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rules:\n  - say: hi\n", "s.yaml:2: rules[0]: a rule needs exactly one trigger"),
        (
            "rules:\n  - caller: a\n    tool_result: b\n    say: x\n",
            "s.yaml:2: rules[0]: a rule needs exactly one trigger",
        ),
        ("rules:\n  - caller: hi\n", "s.yaml:2: rules[0]: a rule needs an action"),
        (
            "rules:\n  - caller: hi\n    handoff: a\n    call: {name: b}\n",
            "s.yaml:2: rules[0]: a rule can 'call' a tool or 'handoff', not both",
        ),
        (
            "rules:\n  - caller: '(unclosed'\n    say: x\n",
            "s.yaml:2: rules[0]: 'caller' is not a valid regex",
        ),
        ("greting: hi\n", "s.yaml:1: greting: unknown field"),
        ("voice: robot\n", "s.yaml:1: voice: Input should be 'synthetic', 'tones' or 'espeak'"),
        (
            "faults:\n  drop_after_s: -1\n",
            "s.yaml:2: faults.drop_after_s: Input should be greater than 0",
        ),
        ("version: 1\nversion: 1\n", "s.yaml:2: version: duplicate key 'version'"),
        ("rules: [\n", "s.yaml:2: invalid YAML"),
        ("- a\n", "s.yaml:1: the top level must be a mapping"),
    ],
)
def test_mistakes_are_located(text: str, expected: str) -> None:
    """Each error names the file, the line and the field."""
    assert any(issue.startswith(expected) for issue in _issues(text)), _issues(text)


def test_unreadable_files_are_config_errors(tmp_path: Path) -> None:
    """A missing file is a ConfigError, not a traceback."""
    with pytest.raises(ConfigError, match="cannot read file"):
        load_scenario(tmp_path / "missing.yaml")
