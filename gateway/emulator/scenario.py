"""Scenarios: what the emulated model says and which tools it calls, as a YAML file.

::

    version: 1
    voice: synthetic                 # or "tones": every word a distinct tone (voice.py)
    greeting: "Thanks for calling Acme. How can I help?"
    caller_transcripts:              # what the default recogniser "hears", one per audio turn
      - "what are your opening hours on monday"
      - "put me through to billing please"
    rules:                           # first match wins
      - caller: "opening hours|open on (?P<day>\\w+)"     # regex, searched, case-insensitive
        say: "Let me check {day}."                        # optional words before the call
        call: {name: get_hours, arguments: {day: "{day}"}}
      - tool_result: get_hours       # after the client sends get_hours' output
        say: "We are open {result.open} to {result.close}."
      - caller: "billing"
        handoff: billing             # calls transfer_to_billing
      - caller: "card"
        say: "Your card number is 4111 1111 1111 1111, is that right?"
    fallback: "Sorry, I can only help with opening hours."   # no rule matched
    idle_reply: "Are you still there?"                       # after an idle timeout
    faults: {drop_after_s: 30}                               # see faults.py

Templates fill ``{name}`` from the rule's named regex groups, ``{caller}`` (the caller's
words), ``{result}`` (the tool output) and ``{result.a.b}`` (a field of a JSON output).
Without a scenario the model greets, matches the caller's words against the session's tools
and ``transfer_to_*`` handoffs, and otherwise repeats back what it heard (see model.py).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from gateway.core.agents.loader import compose_yaml, pydantic_issue
from gateway.emulator.faults import Faults
from gateway.errors import ConfigError, ConfigIssue

__all__ = ["Rule", "Scenario", "ToolCallSpec", "load_scenario", "parse_scenario"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ToolCallSpec(_Frozen):
    name: str
    arguments: dict[str, Any] = {}


class Rule(_Frozen):
    """One behaviour: a trigger (``caller`` or ``tool_result``) and what the model does."""

    caller: str | None = None
    tool_result: str | None = None
    say: str | None = None
    call: ToolCallSpec | None = None
    handoff: str | None = None

    @model_validator(mode="after")
    def _shape(self) -> Rule:
        if (self.caller is None) == (self.tool_result is None):
            raise ValueError("a rule needs exactly one trigger: 'caller' or 'tool_result'")
        if self.say is None and self.call is None and self.handoff is None:
            raise ValueError("a rule needs an action: 'say', 'call' or 'handoff'")
        if self.call is not None and self.handoff is not None:
            raise ValueError("a rule can 'call' a tool or 'handoff', not both")
        if self.caller is not None:
            try:
                re.compile(self.caller)
            except re.error as exc:
                raise ValueError(f"'caller' is not a valid regex: {exc}") from None
        return self

    @property
    def pattern(self) -> re.Pattern[str] | None:
        return None if self.caller is None else re.compile(self.caller, re.IGNORECASE)

    @property
    def tool_call(self) -> ToolCallSpec | None:
        if self.handoff is not None:
            return ToolCallSpec(name=f"transfer_to_{self.handoff}")
        return self.call


class Scenario(_Frozen):
    version: Literal[1] = 1
    voice: Literal["synthetic", "tones"] = "synthetic"
    greeting: str | None = None
    caller_transcripts: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()
    fallback: str | None = None
    idle_reply: str = "Are you still there?"
    faults: Faults = Faults()


def parse_scenario(text: str, filename: str = "<string>") -> Scenario:
    """Validate scenario YAML; raise :class:`ConfigError` with every problem and its line."""
    data, lines, issues = compose_yaml(text, filename)
    if data is None:
        raise ConfigError(issues)
    if not isinstance(data, dict):
        raise ConfigError([ConfigIssue(filename, 1, "", "the top level must be a mapping")])
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        issues += [pydantic_issue(err, data, lines, filename) for err in exc.errors()]
    if issues:
        raise ConfigError(sorted(issues, key=lambda i: (i.line or 0, i.path)))
    return scenario


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([ConfigIssue(str(path), None, "", f"cannot read file: {exc}")]) from None
    return parse_scenario(text, str(path))
