"""Turn a validated graph file into live agents: tools resolved, handoffs linked, routes compiled.

The objects built here are the same :class:`RealtimeAgent` / :class:`FunctionTool` a Python user
writes by hand, so both ways of defining a graph run through one runtime.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gateway.adapters.http_tool import http_tool_invoker
from gateway.app.config import resolve_callable
from gateway.core.agents.agent import (
    FunctionTool,
    McpTool,
    RealtimeAgent,
    doc_summary,
    handoff,
    schema_of,
)
from gateway.core.agents.builtins import END_CALL, TRANSFER_CALL, end_call_tool, transfer_call_tool
from gateway.core.agents.guardrails import build_guardrails
from gateway.core.agents.routing import Router, sip_user
from gateway.core.agents.spec import GraphSpec, ToolSpec
from gateway.core.realtime.wire_client import TracingConfig
from gateway.runtime.ports import SessionSettings

__all__ = ["AgentGraph", "build_agent_graph"]

Resolver = Callable[[str], Callable[..., Any]]


@dataclass(frozen=True, slots=True)
class AgentGraph:
    """A graph ready to run calls: agents by name, and the route table."""

    spec: GraphSpec
    agents: dict[str, RealtimeAgent]
    router: Router

    def entry_agent(self, dialed: str, caller: str = "") -> RealtimeAgent:
        """The agent answering a call to ``dialed`` from ``caller`` (URIs or user parts)."""
        return self.agents[self.router.entry_agent(sip_user(dialed), sip_user(caller))]

    def session_settings(self, *, sip_attach: bool = False, call_id: str = "") -> SessionSettings:
        tracing = TracingConfig(workflow_name=self.spec.name or "voicegw", group_id=call_id or None)
        return SessionSettings(
            defaults=self.spec.session,
            transfer_targets=dict(self.spec.phone.transfer_targets),
            greeting=self.spec.phone.greeting,
            tracing=tracing,
            sip_attach=sip_attach,
            guarded_playout=self.spec.phone.guarded_playout and not sip_attach,
        )


def _tool(spec: ToolSpec, resolve: Resolver) -> FunctionTool | McpTool:
    if spec.mcp is not None:
        return McpTool(spec.mcp["server_label"], spec.mcp)
    if spec.http is not None:
        invoke: Callable[..., Any] = http_tool_invoker(spec.http, spec.timeout_s)
        parameters = dict(spec.parameters or {})
        doc = ""
    else:
        assert spec.python is not None
        invoke = resolve(spec.python)
        parameters = dict(spec.parameters) if spec.parameters is not None else schema_of(invoke)
        doc = doc_summary(invoke)
    return FunctionTool(
        name=spec.name,
        description=spec.description or doc,
        parameters=parameters,
        invoke=invoke,
        timeout_s=spec.timeout_s,
        approval=spec.approval,
        background=spec.background,
        wants_context="ctx" in inspect.signature(invoke).parameters,
    )


def build_agent_graph(spec: GraphSpec, resolve: Resolver = resolve_callable) -> AgentGraph:
    """Resolve every tool and guardrail of ``spec`` and link the agents' handoffs."""
    tools: dict[str, FunctionTool | McpTool] = {t.name: _tool(t, resolve) for t in spec.tools}
    tools[END_CALL] = end_call_tool()
    if spec.phone.transfer_targets:
        tools[TRANSFER_CALL] = transfer_call_tool(spec.phone.transfer_targets)
    agents: dict[str, RealtimeAgent] = {}
    for a in spec.agents:
        rails = build_guardrails(a.guardrails, resolve)
        agents[a.name] = RealtimeAgent(
            name=a.name,
            instructions=a.instructions,
            tools=[tools[name] for name in a.tools],
            output_guardrails=list(rails.output),
            input_guardrails=list(rails.input),
            voice=a.voice,
            handoff_description=a.handoff_description,
            guardrail_feedback=rails.feedback,
            guardrail_debounce_chars=rails.debounce_chars,
        )
    for a in spec.agents:
        agents[a.name].handoffs = [handoff(agents[target]) for target in a.handoffs]
    return AgentGraph(spec, agents, Router(spec.routes))
