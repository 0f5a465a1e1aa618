"""Run one tool call: parse and validate arguments, call with a timeout, serialise the result.

Whatever the tool does (raise, hang, return something unserialisable), the model gets a string
result and the call continues: errors become ``{"error": ...}`` outputs.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from dataclasses import dataclass
from typing import Any

import structlog

from gateway.core.agents.agent import CallContext, FunctionTool, ToolArgumentsError

__all__ = ["MAX_OUTPUT_CHARS", "ToolOutcome", "parse_arguments", "run_tool"]

MAX_OUTPUT_CHARS = 8000
"""Tool outputs are cut to this many characters: the model reads them, the caller hears them."""

log = structlog.get_logger()


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    output: str
    ok: bool
    duration_s: float


def parse_arguments(tool: FunctionTool, arguments: str) -> dict[str, Any]:
    """The model's JSON arguments as a validated dict; raises ToolArgumentsError."""
    try:
        parsed = json.loads(arguments or "{}")
    except ValueError:
        raise ToolArgumentsError("arguments are not valid JSON") from None
    if not isinstance(parsed, dict):
        raise ToolArgumentsError("arguments must be a JSON object")
    return tool.validate_arguments(parsed)


def _serialise(result: Any) -> str:
    if isinstance(result, str):
        text = result
    else:
        try:
            text = json.dumps(result, default=str)
        except (TypeError, ValueError):
            text = json.dumps({"result": repr(result)})
    return text if len(text) <= MAX_OUTPUT_CHARS else text[:MAX_OUTPUT_CHARS] + "…[truncated]"


def _error(message: str) -> str:
    return json.dumps({"error": message})


async def _call(tool: FunctionTool, args: dict[str, Any], ctx: CallContext) -> Any:
    assert tool.invoke is not None
    kwargs = {**args, "ctx": ctx} if tool.wants_context else args
    if inspect.iscoroutinefunction(tool.invoke):
        return await tool.invoke(**kwargs)
    # a blocking tool runs in a worker thread; on timeout the thread is abandoned, not killed
    return await asyncio.to_thread(tool.invoke, **kwargs)


async def run_tool(tool: FunctionTool, arguments: str, ctx: CallContext) -> ToolOutcome:
    """Run ``tool`` with the model's ``arguments`` (JSON text) within its timeout."""
    started = time.monotonic()
    try:
        args = parse_arguments(tool, arguments)
        result = await asyncio.wait_for(_call(tool, args, ctx), timeout=tool.timeout_s)
    except ToolArgumentsError as exc:
        return _done(started, _error(f"invalid arguments: {exc}"), ok=False)
    except TimeoutError:
        log.warning("tool_timed_out", tool=tool.name, timeout_s=tool.timeout_s)
        return _done(started, _error(f"{tool.name} timed out after {tool.timeout_s:g} s"), ok=False)
    except Exception as exc:  # any tool failure becomes a result the model reads
        log.warning("tool_failed", tool=tool.name, error=f"{type(exc).__name__}: {exc}")
        return _done(started, _error(f"{tool.name} failed: {type(exc).__name__}: {exc}"), ok=False)
    return _done(started, _serialise(result), ok=True)


def _done(started: float, output: str, *, ok: bool) -> ToolOutcome:
    return ToolOutcome(output, ok, time.monotonic() - started)
