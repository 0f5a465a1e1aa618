"""Agent graphs: the configuration model, its loader, and (later) the runtime that executes it."""

from gateway.core.agents.loader import LineMap, LoadedGraph, parse_graph
from gateway.core.agents.spec import BUILTIN_TOOLS, AgentSpec, GraphSpec, ToolSpec

__all__ = [
    "BUILTIN_TOOLS",
    "AgentSpec",
    "GraphSpec",
    "LineMap",
    "LoadedGraph",
    "ToolSpec",
    "parse_graph",
]
