"""The Python API of agents: ``RealtimeAgent``, ``function_tool``, ``handoff``.

The YAML loader (:mod:`gateway.app.agents`) builds the same objects, so a graph written in
Python and one written in YAML run identically. Nothing here runs a tool: a
:class:`FunctionTool` holds the callable and its argument schema; the runtime invokes it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_type_hints

import jsonschema
from pydantic import TypeAdapter

from gateway.errors import GatewayError

__all__ = [
    "Approval",
    "CallContext",
    "FunctionTool",
    "Handoff",
    "McpTool",
    "RealtimeAgent",
    "ToolArgumentsError",
    "function_tool",
    "handoff",
]

Approval = Literal["none", "confirm", "deny"]


class ToolArgumentsError(GatewayError):
    """The model called a tool with arguments that do not fit its schema."""


@dataclass(frozen=True, slots=True)
class CallContext:
    """What an agent knows about the call it is on; fills ``{caller}``, ``{dialed}``, ``{now}``."""

    call_id: str
    caller: str = ""
    dialed: str = ""
    transport: str = "sip"
    now: datetime | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def placeholders(self) -> dict[str, str]:
        now = self.now.strftime("%A %d %B %Y, %H:%M") if self.now else ""
        return {"caller": self.caller, "dialed": self.dialed, "now": now}


@dataclass(frozen=True, slots=True)
class FunctionTool:
    """A tool the model can call: a name, a JSON-Schema of arguments and a callable.

    ``invoke`` receives the validated arguments as keyword arguments (plus ``ctx`` if it declares
    a parameter of that name) and may be sync or async. ``builtin`` marks the phone tools the
    runtime handles itself (``end_call``, ``transfer_call``).
    """

    name: str
    description: str
    parameters: Mapping[str, Any]
    invoke: Callable[..., Any] | None
    timeout_s: float = 10.0
    approval: Approval = "none"
    background: bool = False
    builtin: str | None = None
    wants_context: bool = False

    def definition(self) -> dict[str, Any]:
        """The Realtime ``tools[]`` entry for this tool."""
        return {
            "type": "function",
            "name": self.name,
            "description": self.description,
            "parameters": dict(self.parameters),
        }

    def validate_arguments(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """Check the model's arguments against the schema; raise ToolArgumentsError if wrong."""
        try:
            jsonschema.validate(dict(arguments), dict(self.parameters))
        except jsonschema.ValidationError as exc:
            where = "/".join(str(p) for p in exc.absolute_path) or "arguments"
            raise ToolArgumentsError(f"{where}: {exc.message}") from None
        except jsonschema.SchemaError as exc:
            raise ToolArgumentsError(
                f"tool {self.name} has an invalid schema: {exc.message}"
            ) from None
        return dict(arguments)


@dataclass(frozen=True, slots=True)
class McpTool:
    """A Realtime-native MCP server, passed through to the session's ``tools``."""

    server_label: str
    config: Mapping[str, Any]

    def definition(self) -> dict[str, Any]:
        return {**dict(self.config), "type": "mcp", "server_label": self.server_label}


InstructionsFn = Callable[[CallContext, "RealtimeAgent"], str]


@dataclass(slots=True)
class RealtimeAgent:
    """One agent: instructions (text with placeholders, or a function of the call), tools,
    handoffs to other agents, guardrails and an optional voice."""

    name: str
    instructions: str | InstructionsFn
    tools: list[FunctionTool | McpTool] = field(default_factory=list)
    handoffs: list[RealtimeAgent | Handoff] = field(default_factory=list)
    output_guardrails: list[Any] = field(default_factory=list)
    input_guardrails: list[Any] = field(default_factory=list)
    voice: str | None = None
    handoff_description: str = ""
    guardrail_feedback: str = (
        "Your last answer broke a phone rule and was cut off. Apologise briefly and answer "
        "again without it."
    )
    guardrail_debounce_chars: int = 100

    def handoff_list(self) -> list[Handoff]:
        return [h if isinstance(h, Handoff) else handoff(h) for h in self.handoffs]


@dataclass(frozen=True, slots=True)
class Handoff:
    """A way to hand the call to another agent, exposed as the tool ``transfer_to_<agent>``."""

    agent: RealtimeAgent
    tool_name: str
    description: str

    def definition(self) -> dict[str, Any]:
        return {
            "type": "function",
            "name": self.tool_name,
            "description": self.description,
            "parameters": {"type": "object", "properties": {}, "additionalProperties": False},
        }


def handoff(
    agent: RealtimeAgent, *, tool_name: str | None = None, description: str | None = None
) -> Handoff:
    """A handoff to ``agent`` (tool ``transfer_to_<name>`` unless ``tool_name`` is given)."""
    text = description or agent.handoff_description or f"Hand the caller over to {agent.name}."
    return Handoff(agent, tool_name or f"transfer_to_{agent.name}", text)


def function_tool(
    fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    timeout_s: float = 10.0,
    approval: Approval = "none",
    background: bool = False,
) -> Any:
    """Make a :class:`FunctionTool` of ``fn`` (usable bare or with options, as a decorator).

    The argument schema comes from the signature's type hints unless ``parameters`` is given;
    the description from the docstring's first paragraph. A parameter named ``ctx`` receives
    the :class:`CallContext` and is not part of the schema.
    """

    def build(target: Callable[..., Any]) -> FunctionTool:
        wants_ctx = "ctx" in inspect.signature(target).parameters
        return FunctionTool(
            name=name or target.__name__,
            description=description or doc_summary(target),
            parameters=dict(parameters) if parameters is not None else schema_of(target),
            invoke=target,
            timeout_s=timeout_s,
            approval=approval,
            background=background,
            wants_context=wants_ctx,
        )

    return build(fn) if fn is not None else build


def schema_of(fn: Callable[..., Any]) -> dict[str, Any]:
    """JSON Schema (type: object) of ``fn``'s keyword arguments, from its type hints.

    Each parameter is converted on its own (so any name works, ``_private`` and ``json``
    included); nested models go to ``$defs``; ``title`` annotations are dropped everywhere.
    """
    hints = get_type_hints(fn)
    properties: dict[str, Any] = {}
    required: list[str] = []
    defs: dict[str, Any] = {}
    for pname, param in inspect.signature(fn).parameters.items():
        if pname == "ctx" or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        prop = TypeAdapter(hints.get(pname, Any)).json_schema(ref_template="#/$defs/{model}")
        defs.update(prop.pop("$defs", {}))
        if param.default is param.empty:
            required.append(pname)
        elif _jsonable(param.default):
            prop["default"] = param.default
        properties[pname] = prop
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
    if defs:
        schema["$defs"] = defs
    untitled: dict[str, Any] = _untitled(schema)
    return untitled


def _jsonable(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


_SCHEMA_MAPS = frozenset({"properties", "$defs", "definitions", "patternProperties"})


def _untitled(schema: Any) -> Any:
    """Drop ``title`` keywords from a schema, keeping properties that happen to be named so."""
    if isinstance(schema, list):
        return [_untitled(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" and isinstance(value, str):
            continue
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: _untitled(sub) for name, sub in value.items()}
        else:
            out[key] = _untitled(value)
    return out


def doc_summary(fn: Callable[..., Any]) -> str:
    """The first paragraph of ``fn``'s docstring, on one line."""
    doc = inspect.getdoc(fn) or ""
    return doc.split("\n\n", 1)[0].replace("\n", " ").strip()
