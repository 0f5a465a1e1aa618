"""Scenarios: what the emulated model says and which tools it calls, as a YAML file.

::

    version: 1
    voice: synthetic                 # "tones": every word a distinct tone; "espeak": espeak-ng
    recognizer: scripted             # "pocketsphinx": real recognition of ``phrases``
    greeting: "Thanks for calling Acme. How can I help?"
    caller_transcripts:              # what the scripted recogniser "hears", one per audio turn
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

For speech, and for graphs with several agents (the "rule brain")::

    voice: espeak
    recognizer: pocketsphinx
    phrases:                         # what callers may say: the recogniser's grammar
      - "[hello] i need help with my (bill | invoice) [please]"
      - "my account number is {digits}"          # slots: {digits} {code} {value}
    intents:                         # named keyword regexes, used by rules as `intent:`
      billing: "\\b(bill|invoice|payment)"
    agents:                          # rules for one agent of the graph, tried first
      - name: billing
        tools: [get_balance]         # the session offers all of these tools ...
        instructions: "billing"      # ... and/or its instructions match this regex
        rules:
          - intent: billing
            say: "What is your account number?"
          - tool_result: get_balance
            result: '"error"'        # only when the tool output matches this regex
            say: "Sorry, I cannot find that account."
        fallback: "Sorry, I can only help with your bill."

The emulator sees only the session (its instructions and tools), so an agent is recognised by
what its session offers: the first ``agents`` entry whose ``tools`` are all offered and whose
``instructions`` regex (if given) is found in the session's instructions. Its rules come
before the top-level ``rules``, its ``fallback`` before the top-level one.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from gateway.core.agents.loader import compose_yaml, pydantic_issue
from gateway.emulator.faults import Faults
from gateway.emulator.phrases import check_phrase
from gateway.errors import ConfigError, ConfigIssue

__all__ = ["AgentRules", "Rule", "Scenario", "ToolCallSpec", "load_scenario", "parse_scenario"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ToolCallSpec(_Frozen):
    name: str
    arguments: dict[str, Any] = {}


class Rule(_Frozen):
    """One behaviour: a trigger (``caller`` or ``tool_result``) and what the model does."""

    caller: str | None = None
    intent: str | None = None
    tool_result: str | None = None
    result: str | None = None
    say: str | None = None
    call: ToolCallSpec | None = None
    handoff: str | None = None

    @model_validator(mode="after")
    def _shape(self) -> Rule:
        if [self.caller, self.intent, self.tool_result].count(None) != 2:
            raise ValueError(
                "a rule needs exactly one trigger: 'caller', 'intent' or 'tool_result'"
            )
        if self.say is None and self.call is None and self.handoff is None:
            raise ValueError("a rule needs an action: 'say', 'call' or 'handoff'")
        if self.call is not None and self.handoff is not None:
            raise ValueError("a rule can 'call' a tool or 'handoff', not both")
        if self.result is not None and self.tool_result is None:
            raise ValueError("'result' narrows a 'tool_result' rule only")
        _check_regex("caller", self.caller)
        _check_regex("result", self.result)
        return self

    @property
    def pattern(self) -> re.Pattern[str] | None:
        return None if self.caller is None else re.compile(self.caller, re.IGNORECASE)

    @property
    def tool_call(self) -> ToolCallSpec | None:
        if self.handoff is not None:
            return ToolCallSpec(name=f"transfer_to_{self.handoff}")
        return self.call


def _check_regex(field: str, pattern: str | None) -> None:
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"'{field}' is not a valid regex: {exc}") from None


class AgentRules(_Frozen):
    """Rules for one agent of a graph, recognised by the tools and instructions it has."""

    name: str
    tools: tuple[str, ...] = ()
    instructions: str | None = None
    rules: tuple[Rule, ...] = ()
    fallback: str | None = None

    @model_validator(mode="after")
    def _shape(self) -> AgentRules:
        if not self.tools and self.instructions is None:
            raise ValueError("an agent is recognised by 'tools', 'instructions' or both")
        _check_regex("instructions", self.instructions)
        return self

    def applies(self, tools: set[str], instructions: str) -> bool:
        """Whether a session offering ``tools`` with ``instructions`` is this agent's."""
        if not set(self.tools) <= tools:
            return False
        return self.instructions is None or bool(
            re.search(self.instructions, instructions, re.IGNORECASE)
        )


class Scenario(_Frozen):
    version: Literal[1] = 1
    voice: Literal["synthetic", "tones", "espeak"] = "synthetic"
    recognizer: Literal["scripted", "pocketsphinx"] = "scripted"
    greeting: str | None = None
    caller_transcripts: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    intents: dict[str, str] = {}
    agents: tuple[AgentRules, ...] = ()
    rules: tuple[Rule, ...] = ()
    fallback: str | None = None
    idle_reply: str = "Are you still there?"
    faults: Faults = Faults()

    @field_validator("phrases")
    @classmethod
    def _phrases(cls, phrases: tuple[str, ...]) -> tuple[str, ...]:
        for phrase in phrases:
            check_phrase(phrase)
        return phrases

    @field_validator("intents")
    @classmethod
    def _intents(cls, intents: dict[str, str]) -> dict[str, str]:
        for name, pattern in intents.items():
            _check_regex(f"intents.{name}", pattern)
        return intents

    @model_validator(mode="after")
    def _known_intents(self) -> Scenario:
        rules = [*self.rules, *(r for agent in self.agents for r in agent.rules)]
        unknown = sorted({r.intent for r in rules if r.intent and r.intent not in self.intents})
        if unknown:
            raise ValueError(f"rules use unknown intents: {', '.join(unknown)}")
        return self

    def pattern(self, rule: Rule) -> re.Pattern[str] | None:
        """What a caller rule searches the caller's words for (its regex or its intent's)."""
        if rule.intent is not None:
            return re.compile(self.intents[rule.intent], re.IGNORECASE)
        return rule.pattern

    def rules_for(
        self, tools: set[str], instructions: str
    ) -> tuple[AgentRules | None, tuple[Rule, ...]]:
        """The agent a session is (if any) and the rules that apply to it, in order."""
        agent = next((a for a in self.agents if a.applies(tools, instructions)), None)
        return agent, (agent.rules if agent else ()) + self.rules


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
