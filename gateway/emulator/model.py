"""The emulated "model": decides what a response says and which tools it calls.

The session reduces the conversation to a :class:`Turn` (a greeting before any input, the
caller's words, a tool result, or an idle timeout) and :class:`ScenarioModel` answers it:

1. response ``instructions`` containing ``Say exactly: ...`` (or ``Say: "..."``) are spoken
   verbatim, whatever else holds;
2. the scenario's first matching rule: the rules of the agent the session is (known by its
   tools and instructions, see scenario.py), then the scenario's own;
3. otherwise the default behaviour: a greeting; for caller words, a call to the session tool
   (or ``transfer_to_*`` handoff) whose name or description shares a word with them, with
   arguments filled from its JSON schema; after a tool result, a sentence reporting it; else
   the scenario ``fallback``, or the words it heard repeated back.

``tool_choice`` is honoured: ``none`` drops calls, ``required`` and a named function force one,
and a call to a tool the response does not offer is dropped, as a real model cannot make it.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from gateway.emulator.scenario import AgentRules, Rule, Scenario, ToolCallSpec

__all__ = ["Call", "Reply", "Say", "ScenarioModel", "Turn", "render"]

DEFAULT_GREETING = "Hello! How can I help you today?"
ANYTHING_ELSE = "Is there anything else I can help you with?"
NOT_HEARD = "Sorry, I didn't catch that. Could you say it again?"
_SAY_EXACTLY = re.compile(
    r"say(?: exactly)?:\s*[\"“']?(?P<text>.+?)[\"”']?\s*$", re.IGNORECASE | re.DOTALL
)
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][\w.]*)\}")
# Words too common to pick a tool by.
_STOP_WORDS = frozenset(
    {
        *("the", "and", "for", "you", "your", "with", "this", "that", "what", "when", "have"),
        *("from", "about", "please", "can", "could", "would", "like", "need", "want", "help"),
        *("tool", "function", "call", "agent", "agents", "transfer", "handoff", "request"),
        *("caller", "user", "thanks", "thank", "hello", "yes", "not", "are", "was", "will"),
        *("just", "some"),
    }
)


@dataclass(frozen=True, slots=True)
class Say:
    text: str


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    arguments: str


Reply = tuple[Say | Call, ...]


@dataclass(frozen=True, slots=True)
class Turn:
    """What the model is responding to: ``again`` is a request with no new input."""

    kind: Literal["greeting", "caller", "tool_result", "idle", "again"]
    caller: str = ""
    tool: str = ""
    result: str = ""


def render(template: str, values: dict[str, Any]) -> str:
    """Fill ``{name}`` / ``{a.b}`` placeholders from ``values``; unknown ones stay as written."""

    def fill(match: re.Match[str]) -> str:
        value: Any = values
        for part in match.group(1).split("."):
            if not isinstance(value, dict) or part not in value:
                return match.group(0)
            value = value[part]
        return value if isinstance(value, str) else json.dumps(value)

    return _PLACEHOLDER.sub(fill, template)


def _render_args(value: Any, values: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return render(value, values)
    if isinstance(value, dict):
        return {k: _render_args(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_render_args(v, values) for v in value]
    return value


class ScenarioModel:
    """Answers turns as a scenario says, with sensible defaults."""

    __slots__ = ("_scenario",)

    def __init__(self, scenario: Scenario) -> None:
        self._scenario = scenario

    def reply(
        self,
        turn: Turn,
        *,
        response_instructions: str | None = None,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: Any = "auto",
        instructions: str = "",
    ) -> Reply:
        """The output of one response (``instructions``: the session's, to tell the agent)."""
        verbatim = _SAY_EXACTLY.search(response_instructions or "")
        if verbatim is not None:
            return (Say(verbatim.group("text").strip()),)
        functions = [t for t in tools or [] if t.get("type") == "function"]
        names = {str(t.get("name")) for t in functions}
        agent, rules = self._scenario.rules_for(names, instructions)
        draft = self._draft(turn, functions, rules, agent)
        reply = _apply_tool_choice(draft, functions, tool_choice, turn)
        return reply or (Say(self._fallback(turn, agent)),)

    def _draft(
        self,
        turn: Turn,
        functions: list[dict[str, Any]],
        rules: tuple[Rule, ...],
        agent: AgentRules | None,
    ) -> Reply:
        fixed = {
            "greeting": self._scenario.greeting or DEFAULT_GREETING,
            "idle": self._scenario.idle_reply,
            "again": ANYTHING_ELSE,
        }
        if turn.kind in fixed:
            return (Say(fixed[turn.kind]),)
        values = _values(turn)
        for rule in rules:
            groups = _matches(rule, turn, self._scenario.pattern(rule))
            if groups is not None:
                return _actions(rule, {**values, **groups})
        if turn.kind == "tool_result":
            return (Say(_report(turn)),)
        tool = _match_tool(turn.caller, functions)
        if tool is not None:
            return (Call(tool["name"], json.dumps(_default_arguments(tool, turn.caller))),)
        return (Say(self._fallback(turn, agent)),)

    def _fallback(self, turn: Turn, agent: AgentRules | None) -> str:
        fallback = agent.fallback if agent and agent.fallback else self._scenario.fallback
        if fallback is not None:
            return render(fallback, _values(turn))
        if not turn.caller:
            return NOT_HEARD
        return f'I heard you say: "{turn.caller}". How else can I help?'


def _values(turn: Turn) -> dict[str, Any]:
    result: Any = turn.result
    with contextlib.suppress(ValueError):
        result = json.loads(turn.result)
    return {"caller": turn.caller, "tool": turn.tool, "result": result}


def _matches(rule: Rule, turn: Turn, pattern: re.Pattern[str] | None) -> dict[str, Any] | None:
    if rule.tool_result is not None:
        hit = turn.kind == "tool_result" and rule.tool_result in ("*", turn.tool)
        if hit and rule.result is not None:
            hit = re.search(rule.result, turn.result, re.IGNORECASE) is not None
        return {} if hit else None
    if turn.kind != "caller" or pattern is None:
        return None
    found = pattern.search(turn.caller)
    return None if found is None else {k: v or "" for k, v in found.groupdict().items()}


def _actions(rule: Rule, values: dict[str, Any]) -> Reply:
    reply: list[Say | Call] = []
    if rule.say is not None:
        reply.append(Say(render(rule.say, values)))
    spec: ToolCallSpec | None = rule.tool_call
    if spec is not None:
        reply.append(Call(spec.name, json.dumps(_render_args(spec.arguments, values))))
    return tuple(reply)


def _report(turn: Turn) -> str:
    if turn.tool.startswith("transfer_to_"):
        return f"You're now through to {turn.tool.removeprefix('transfer_to_')}. How can I help?"
    result = _values(turn)["result"]
    if isinstance(result, dict):
        summary = ", ".join(f"{k} {v}" for k, v in result.items() if not isinstance(v, dict))
    elif isinstance(result, list):
        summary = ", ".join(str(v) for v in result)
    else:
        summary = str(result)
    return f"Here is what I found: {summary[:200]}."


def _words(text: str) -> set[str]:
    words = re.findall(r"[a-z0-9]+", text.lower().replace("_", " "))
    return {w for w in words if len(w) >= 3 and w not in _STOP_WORDS}


def _related(a: str, b: str) -> bool:
    """Same word up to its ending: 'open' ~ 'opening', 'invoice' ~ 'invoices'."""
    short, long = sorted((a, b), key=len)
    return a[:5] == b[:5] or (len(short) >= 4 and long.startswith(short))


def _keywords(tool: dict[str, Any]) -> set[str]:
    """A tool's name, description and enum values: what a caller might say to want it."""
    properties = (tool.get("parameters") or {}).get("properties") or {}
    enums = [str(v) for p in properties.values() for v in (p.get("enum") or [])]
    return _words(" ".join([tool.get("name", ""), tool.get("description", ""), *enums]))


def _match_tool(caller: str, functions: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The function sharing the most words with the caller's (none when nothing is shared)."""
    heard = _words(caller)
    best, best_score = None, 0
    for tool in functions:
        keywords = _keywords(tool)
        score = sum(any(_related(h, k) for k in keywords) for h in heard)
        if score > best_score:
            best, best_score = tool, score
    return best


def _default_arguments(tool: dict[str, Any], caller: str) -> dict[str, Any]:
    schema = tool.get("parameters") or {}
    properties = schema.get("properties") or {}
    args: dict[str, Any] = {}
    for name in schema.get("required") or []:
        args[name] = _fill(properties.get(name) or {}, caller)
    for name, prop in properties.items():
        choice = _enum_in(prop, caller)
        if name not in args and choice is not None:
            args[name] = choice
    return args


def _enum_in(prop: dict[str, Any], caller: str) -> Any:
    return next((v for v in prop.get("enum") or [] if str(v).lower() in caller.lower()), None)


def _fill(prop: dict[str, Any], caller: str) -> Any:
    kind = prop.get("type")
    if prop.get("enum"):
        return _enum_in(prop, caller) or prop["enum"][0]
    if kind in ("integer", "number"):
        number = re.search(r"\d+", caller)
        return int(number.group()) if number else 1
    if kind == "boolean":
        return True
    if kind == "object":
        return {}
    if kind == "array":
        return []
    return caller


def _apply_tool_choice(
    draft: Reply, functions: list[dict[str, Any]], choice: Any, turn: Turn
) -> Reply:
    offered = {t.get("name") for t in functions}
    reply = [p for p in draft if not isinstance(p, Call) or p.name in offered]
    if choice == "none":
        reply = [p for p in reply if not isinstance(p, Call)]
    forced = choice.get("name") if isinstance(choice, dict) else None
    if (
        isinstance(forced, str)
        and forced in offered
        and not any(isinstance(p, Call) and p.name == forced for p in reply)
    ):
        tool = next(t for t in functions if t.get("name") == forced)
        reply.append(Call(forced, json.dumps(_default_arguments(tool, turn.caller))))
    elif choice == "required" and functions and not any(isinstance(p, Call) for p in reply):
        reply.append(Call(functions[0]["name"], json.dumps(_default_arguments(functions[0], ""))))
    return tuple(reply)
