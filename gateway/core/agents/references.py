"""Cross-reference checks of an agent graph, tolerant of a graph that is otherwise broken.

Runs on plain data (what YAML gave, or a model dump), so the loader can report unknown names
together with type errors in one pass. Shapes it does not understand are skipped: the pydantic
models report those.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from gateway.core.agents.spec import BUILTIN_TOOLS

__all__ = ["Loc", "reference_issues"]

Loc = tuple[str | int, ...]
Issue = tuple[Loc, str]


def _items(data: Any, key: str) -> Iterator[tuple[int, dict[str, Any]]]:
    seq = data.get(key) if isinstance(data, dict) else None
    if isinstance(seq, list):
        for index, item in enumerate(seq):
            if isinstance(item, dict):
                yield index, item


def _names(data: Any, key: str) -> tuple[list[str], list[Issue]]:
    names: list[str] = []
    issues: list[Issue] = []
    for index, item in _items(data, key):
        name = item.get("name")
        if not isinstance(name, str):
            continue
        if name in names:
            issues.append(((key, index, "name"), f"duplicate {key[:-1]} name {name!r}"))
        names.append(name)
    return names, issues


def _unknown(kind: str, name: str, known: list[str] | set[str]) -> str:
    listed = ", ".join(sorted(known)) or "none declared"
    return f"unknown {kind} {name!r} (known: {listed})"


def reference_issues(data: Any) -> list[Issue]:
    """Every dangling or conflicting name in ``data``, as ``(location, message)`` pairs."""
    agents, issues = _names(data, "agents")
    tools, tool_issues = _names(data, "tools")
    issues += tool_issues
    targets = _transfer_targets(data)
    issues += _tool_name_clashes(data, agents)
    for index, agent in _items(data, "agents"):
        issues += _agent_refs(index, agent, agents, set(tools) | BUILTIN_TOOLS, targets)
    issues += _route_refs(data, agents)
    issues += _fallback_ref(data, targets)
    return issues


def _fallback_ref(data: Any, targets: set[str]) -> list[Issue]:
    phone = data.get("phone") if isinstance(data, dict) else None
    target = phone.get("fallback_transfer") if isinstance(phone, dict) else None
    if isinstance(target, str) and target not in targets:
        return [(("phone", "fallback_transfer"), _unknown("transfer target", target, targets))]
    return []


def _transfer_targets(data: Any) -> set[str]:
    phone = data.get("phone") if isinstance(data, dict) else None
    targets = phone.get("transfer_targets") if isinstance(phone, dict) else None
    return {k for k in targets if isinstance(k, str)} if isinstance(targets, dict) else set()


def _tool_name_clashes(data: Any, agents: list[str]) -> list[Issue]:
    handoff_tools = {f"transfer_to_{a}" for a in agents}
    issues: list[Issue] = []
    for index, tool in _items(data, "tools"):
        name = tool.get("name")
        if name in BUILTIN_TOOLS:
            issues.append((("tools", index, "name"), f"{name!r} is a built-in tool name"))
        elif name in handoff_tools:
            issues.append((("tools", index, "name"), f"{name!r} clashes with a handoff tool"))
    return issues


def _agent_refs(
    index: int, agent: dict[str, Any], agents: list[str], tools: set[str], targets: set[str]
) -> list[Issue]:
    issues: list[Issue] = []
    for pos, name in _str_list(agent.get("tools")):
        if name not in tools:
            issues.append((("agents", index, "tools", pos), _unknown("tool", name, tools)))
        elif name == "transfer_call" and not targets:
            loc: Loc = ("agents", index, "tools", pos)
            issues.append((loc, "transfer_call needs phone.transfer_targets"))
    for pos, name in _str_list(agent.get("handoffs")):
        if name not in agents:
            issues.append((("agents", index, "handoffs", pos), _unknown("agent", name, agents)))
        elif name == agent.get("name"):
            issues.append(
                (("agents", index, "handoffs", pos), "an agent cannot hand off to itself")
            )
    guardrails = agent.get("guardrails")
    for pos, rail in _items(guardrails, "input"):
        target = rail.get("target")
        if isinstance(target, str) and target not in targets:
            loc = ("agents", index, "guardrails", "input", pos, "target")
            issues.append((loc, _unknown("transfer target", target, targets)))
    return issues


def _route_refs(data: Any, agents: list[str]) -> list[Issue]:
    routes = data.get("routes") if isinstance(data, dict) else None
    if not isinstance(routes, dict):
        return []
    issues: list[Issue] = []
    default = routes.get("default")
    if isinstance(default, str) and default not in agents:
        issues.append((("routes", "default"), _unknown("agent", default, agents)))
    for pos, rule in _items(routes, "rules"):
        name = rule.get("agent")
        if isinstance(name, str) and name not in agents:
            issues.append((("routes", "rules", pos, "agent"), _unknown("agent", name, agents)))
    return issues


def _str_list(value: Any) -> Iterator[tuple[int, str]]:
    if isinstance(value, list):
        for pos, item in enumerate(value):
            if isinstance(item, str):
                yield pos, item
