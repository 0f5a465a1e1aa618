"""Agent graphs: the Python API, the YAML configuration model and its loader.

Python users build graphs with :class:`RealtimeAgent`, :func:`function_tool`, :func:`handoff`,
:func:`output_guardrail` and :func:`input_guardrail`; YAML graphs load into the same objects
(:func:`gateway.app.agents.build_agent_graph`).
"""

from gateway.core.agents.agent import (
    CallContext,
    FunctionTool,
    Handoff,
    McpTool,
    RealtimeAgent,
    function_tool,
    handoff,
)
from gateway.core.agents.guardrails import input_guardrail, output_guardrail
from gateway.core.agents.loader import LineMap, LoadedGraph, parse_graph
from gateway.core.agents.spec import BUILTIN_TOOLS, AgentSpec, GraphSpec, ToolSpec

__all__ = [
    "BUILTIN_TOOLS",
    "AgentSpec",
    "CallContext",
    "FunctionTool",
    "GraphSpec",
    "Handoff",
    "LineMap",
    "LoadedGraph",
    "McpTool",
    "RealtimeAgent",
    "ToolSpec",
    "function_tool",
    "handoff",
    "input_guardrail",
    "output_guardrail",
    "parse_graph",
]
