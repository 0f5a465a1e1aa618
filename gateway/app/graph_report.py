"""Human-readable summary of an agent graph (what ``voicegw check`` prints)."""

from __future__ import annotations

from gateway.core.agents.spec import GraphSpec, ToolSpec

__all__ = ["describe_graph"]


def _tool_kind(tool: ToolSpec) -> str:
    if tool.python is not None:
        return f"python {tool.python}"
    if tool.http is not None:
        return f"http {tool.http.method} {tool.http.url}"
    return f"mcp {(tool.mcp or {}).get('server_label')}"


def describe_graph(spec: GraphSpec, source: str) -> str:
    """Agents, handoff edges, tools, routes and transfer targets of ``spec``, one per line."""
    session = spec.session
    lines = [
        f"{source}: ok ({spec.name or 'unnamed graph'})",
        f"  session: model={session.model} voice={session.voice} "
        f"format={session.audio_format.value}",
        "  agents:",
    ]
    for agent in spec.agents:
        guards = [g.type for g in agent.guardrails.output] + [
            f"input:{g.type}" for g in agent.guardrails.input
        ]
        lines.append(
            f"    {agent.name}: voice={agent.voice or session.voice} "
            f"tools=[{', '.join(agent.tools)}] guardrails=[{', '.join(guards)}]"
        )
    lines.append("  edges:")
    edges = [(a.name, h) for a in spec.agents for h in a.handoffs]
    lines += [f"    {src} -> {dst}" for src, dst in edges] or ["    (none)"]
    lines.append("  tools:")
    lines += [f"    {t.name}: {_tool_kind(t)} timeout={t.timeout_s:g}s" for t in spec.tools] or [
        "    (none)"
    ]
    lines.append("  routes:")
    for rule in spec.routes.rules:
        match = " ".join(
            f"{k}={v}" for k, v in (("dialed", rule.dialed), ("caller", rule.caller)) if v
        )
        lines.append(f"    {match} -> {rule.agent}")
    lines.append(f"    default -> {spec.routes.default}")
    targets = spec.phone.transfer_targets
    if targets:
        lines.append("  transfer targets:")
        lines += [f"    {name} -> {uri}" for name, uri in targets.items()]
    return "\n".join(lines)
