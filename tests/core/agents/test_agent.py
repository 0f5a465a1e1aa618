"""The Python agent API: function tools and their schemas, handoffs, call context, MCP tools."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, Literal

import pytest
from pydantic import BaseModel

from gateway.core.agents.agent import (
    CallContext,
    FunctionTool,
    Handoff,
    McpTool,
    RealtimeAgent,
    ToolArgumentsError,
    function_tool,
    handoff,
)


def _keys(value: Any) -> set[str]:
    """Every mapping key anywhere in a nested JSON-like value."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def forecast(
    city: str,
    days: int = 3,
    unit: Literal["celsius", "fahrenheit"] = "celsius",
    tags: list[str] | None = None,
    note: str | None = None,
) -> str:
    """Weather forecast for a city,
    for the next few days.

    Longer notes that the model does not need.
    """
    return f"{city}:{days}:{unit}:{tags}:{note}"


def lookup(account: str, ctx: CallContext) -> str:
    """Look up an account for the caller."""
    return f"{account}@{ctx.call_id}"


def test_bare_decorator_makes_a_function_tool() -> None:
    """``@function_tool`` without options names the tool after the function and keeps it."""
    tool = function_tool(forecast)
    assert isinstance(tool, FunctionTool)
    assert tool.name == "forecast"
    assert tool.invoke is forecast
    assert tool.timeout_s == 10.0
    assert tool.approval == "none"
    assert tool.background is False
    assert tool.builtin is None
    assert tool.wants_context is False
    assert tool.invoke("Leeds") == "Leeds:3:celsius:None:None"


def test_decorator_with_options() -> None:
    """``@function_tool(...)`` applies name, description, timeout, approval and background."""

    def make_booking(when: str) -> str:
        """Ignored docstring."""
        return when

    tool = function_tool(
        name="book", description="Book it.", timeout_s=2.5, approval="confirm", background=True
    )(make_booking)

    assert isinstance(tool, FunctionTool)
    assert tool.name == "book"
    assert tool.description == "Book it."
    assert tool.timeout_s == 2.5
    assert tool.approval == "confirm"
    assert tool.background is True
    assert tool.invoke is make_booking
    assert tool.parameters["required"] == ["when"]


def test_schema_marks_parameters_without_defaults_required() -> None:
    """Required are exactly the parameters without defaults; defaults appear in the schema."""
    schema = function_tool(forecast).parameters
    assert schema["type"] == "object"
    assert schema["required"] == ["city"]
    assert list(schema["properties"]) == ["city", "days", "unit", "tags", "note"]
    assert schema["properties"]["city"] == {"type": "string"}
    assert schema["properties"]["days"] == {"type": "integer", "default": 3}


def test_schema_types_for_literal_list_and_optional() -> None:
    """Literal becomes an enum, list an array, ``X | None`` allows null."""
    props = function_tool(forecast).parameters["properties"]
    assert props["unit"]["enum"] == ["celsius", "fahrenheit"]
    assert props["unit"]["type"] == "string"
    assert {"type": "array", "items": {"type": "string"}} in props["tags"]["anyOf"]
    assert {"type": "null"} in props["tags"]["anyOf"]
    assert props["note"]["anyOf"] == [{"type": "string"}, {"type": "null"}]
    assert props["note"]["default"] is None


def test_schema_forbids_extra_arguments_and_has_no_titles() -> None:
    """The schema says ``additionalProperties: false`` and carries no pydantic ``title`` keys."""
    schema = function_tool(forecast).parameters
    assert schema["additionalProperties"] is False
    assert "title" not in _keys(schema)


class Address(BaseModel):
    street: str
    title: str = ""
    """A property named 'title' must survive title-stripping."""


def test_schema_of_a_nested_model_has_no_titles() -> None:
    """A parameter typed with a pydantic model leaves no ``title`` annotation in the schema
    (a property that is itself named ``title`` stays)."""

    def send(to: Address) -> None:
        """Send a letter."""

    schema = function_tool(send).parameters
    assert schema["properties"]["to"] == {
        "type": "object",
        "properties": {"street": {"type": "string"}, "title": {"type": "string", "default": ""}},
        "required": ["street"],
    }


def test_ctx_parameter_is_excluded_and_requested() -> None:
    """A ``ctx`` parameter is not an argument for the model and sets ``wants_context``."""
    tool = function_tool(lookup)
    assert tool.wants_context is True
    assert list(tool.parameters["properties"]) == ["account"]
    assert tool.parameters["required"] == ["account"]


def test_var_args_are_not_in_the_schema() -> None:
    """``*args`` and ``**kwargs`` are not model arguments."""

    def flexible(query: str, *args: str, **kwargs: str) -> None:
        """Search."""

    assert list(function_tool(flexible).parameters["properties"]) == ["query"]


def test_underscore_parameter_is_in_the_schema() -> None:
    """Every keyword parameter of the function, whatever its name, is a schema property."""

    def search(_query: str) -> None:
        """Search."""

    assert function_tool(search).parameters["required"] == ["_query"]


def test_parameter_named_json_defines_cleanly() -> None:
    """Defining a tool whose parameter is called ``json`` warns about nothing."""

    def parse(json: str) -> None:
        """Parse a document."""

    assert function_tool(parse).parameters["required"] == ["json"]


def test_explicit_parameters_replace_the_derived_schema() -> None:
    """``parameters=`` is used as given; the signature is not inspected for the schema."""
    schema = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}
    tool = function_tool(parameters=schema)(forecast)
    assert tool.parameters == schema
    assert tool.parameters is not schema


def test_description_is_the_docstring_first_paragraph() -> None:
    """The first paragraph, its lines joined with spaces; nothing after the blank line."""
    assert function_tool(forecast).description == (
        "Weather forecast for a city, for the next few days."
    )


def test_no_docstring_gives_an_empty_description() -> None:
    """A function without a docstring has an empty description."""

    def silent(x: int) -> int:
        return x

    assert function_tool(silent).description == ""


def test_definition_is_a_realtime_function_tool() -> None:
    """``definition()`` is the Realtime ``tools[]`` entry."""
    tool = function_tool(lookup)
    assert tool.definition() == {
        "type": "function",
        "name": "lookup",
        "description": "Look up an account for the caller.",
        "parameters": tool.parameters,
    }


def test_validate_arguments_accepts_valid_arguments() -> None:
    """Arguments that fit the schema come back as a plain dict."""
    tool = function_tool(forecast)
    args = {"city": "Leeds", "unit": "fahrenheit", "tags": ["rain"], "note": None}
    assert tool.validate_arguments(args) == args


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({}, "arguments: 'city' is a required property"),
        ({"city": 3}, "city: 3 is not of type 'string'"),
        ({"city": "x", "unit": "kelvin"}, "unit: 'kelvin' is not one of ['celsius', 'fahrenheit']"),
        ({"city": "x", "tags": ["a", 2]}, "tags/1: "),
        ({"city": "x", "extra": 1}, "arguments: Additional properties are not allowed"),
    ],
)
def test_validate_arguments_names_the_path(arguments: dict[str, Any], message: str) -> None:
    """A bad argument raises ToolArgumentsError starting with the path to it."""
    with pytest.raises(ToolArgumentsError) as info:
        function_tool(forecast).validate_arguments(arguments)
    assert str(info.value).startswith(message)


def test_validate_arguments_reports_a_broken_schema() -> None:
    """An invalid JSON Schema is reported as the tool's fault, not the model's."""
    tool = function_tool(parameters={"type": "object", "properties": {"a": {"type": "strng"}}})(
        forecast
    )
    with pytest.raises(ToolArgumentsError, match="tool forecast has an invalid schema"):
        tool.validate_arguments({"a": "x"})


async def test_async_functions_become_tools() -> None:
    """An async function is kept as the invoke callable, awaitable as written."""

    @function_tool
    async def slow_echo(text: str) -> str:
        """Echo later."""
        await asyncio.sleep(0)
        return text

    assert slow_echo.invoke is not None
    assert await slow_echo.invoke(text="hi") == "hi"
    assert slow_echo.parameters["required"] == ["text"]


def test_handoff_defaults() -> None:
    """``handoff(agent)`` is the tool ``transfer_to_<name>`` described by the agent."""
    billing = RealtimeAgent("billing", "Bills.", handoff_description="Bills and payments.")
    h = handoff(billing)
    assert h.agent is billing
    assert h.tool_name == "transfer_to_billing"
    assert h.description == "Bills and payments."
    assert h.definition() == {
        "type": "function",
        "name": "transfer_to_billing",
        "description": "Bills and payments.",
        "parameters": {"type": "object", "properties": {}, "additionalProperties": False},
    }


def test_handoff_without_description_names_the_agent() -> None:
    """An agent with no handoff description gets a generic one naming it."""
    assert handoff(RealtimeAgent("sales", "Sell.")).description == "Hand the caller over to sales."


def test_handoff_overrides() -> None:
    """``tool_name`` and ``description`` override the defaults."""
    agent = RealtimeAgent("billing", "Bills.", handoff_description="Bills.")
    h = handoff(agent, tool_name="go_billing", description="Money questions.")
    assert (h.tool_name, h.description) == ("go_billing", "Money questions.")
    assert h.definition()["name"] == "go_billing"


def test_handoff_list_accepts_agents_and_handoffs() -> None:
    """Agents become default handoffs; Handoff objects are kept as given, in order."""
    billing = RealtimeAgent("billing", "Bills.")
    sales = RealtimeAgent("sales", "Sell.")
    custom = handoff(sales, tool_name="to_sales_team")
    triage = RealtimeAgent("triage", "Route.", handoffs=[billing, custom])
    handoffs = triage.handoff_list()
    assert all(isinstance(h, Handoff) for h in handoffs)
    assert [h.tool_name for h in handoffs] == ["transfer_to_billing", "to_sales_team"]
    assert handoffs[0].agent is billing
    assert handoffs[1] is custom


def test_placeholders_fill_caller_dialed_and_now() -> None:
    """``placeholders()`` gives caller, dialed and a spoken-style date and time."""
    ctx = CallContext("c1", caller="+441234", dialed="100", now=datetime(2025, 1, 6, 9, 30))
    assert ctx.placeholders() == {
        "caller": "+441234",
        "dialed": "100",
        "now": "Monday 06 January 2025, 09:30",
    }


def test_placeholders_without_a_time() -> None:
    """Without ``now`` (and with defaults) every placeholder is empty."""
    assert CallContext("c1").placeholders() == {"caller": "", "dialed": "", "now": ""}


def test_mcp_tool_definition() -> None:
    """An MCP tool is passed through with ``type: mcp`` and its server label."""
    config = {"server_label": "docs", "server_url": "https://mcp.example.com/sse"}
    tool = McpTool("docs", {**config, "require_approval": "never"})
    assert tool.definition() == {
        "type": "mcp",
        "server_label": "docs",
        "server_url": "https://mcp.example.com/sse",
        "require_approval": "never",
    }


def test_mcp_tool_label_wins_over_config() -> None:
    """The McpTool's own label is what the session sees, whatever the config says."""
    tool = McpTool("docs", {"server_label": "old", "server_url": "https://m.example/sse"})
    assert tool.definition()["server_label"] == "docs"
