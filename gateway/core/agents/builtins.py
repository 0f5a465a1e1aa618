"""The phone tools every agent may use, handled by the runtime rather than a callable."""

from __future__ import annotations

from collections.abc import Mapping

from gateway.core.agents.agent import FunctionTool

__all__ = ["END_CALL", "TRANSFER_CALL", "end_call_tool", "transfer_call_tool"]

END_CALL = "end_call"
TRANSFER_CALL = "transfer_call"


def end_call_tool() -> FunctionTool:
    """``end_call``: hang up once the goodbye already spoken has been heard."""
    return FunctionTool(
        name=END_CALL,
        description=(
            "Hang up the call. Say a short goodbye first, in the same turn; the line is closed "
            "after the caller has heard it."
        ),
        parameters={
            "type": "object",
            "properties": {"reason": {"type": "string", "description": "Why the call ends."}},
            "additionalProperties": False,
        },
        invoke=None,
        builtin=END_CALL,
    )


def transfer_call_tool(targets: Mapping[str, str]) -> FunctionTool:
    """``transfer_call(target)``: blind-transfer the caller to one of the named targets."""
    names = sorted(targets)
    return FunctionTool(
        name=TRANSFER_CALL,
        description=(
            "Transfer the caller to a person or queue. Tell the caller first, in the same turn. "
            f"Targets: {', '.join(names)}."
        ),
        parameters={
            "type": "object",
            "properties": {"target": {"type": "string", "enum": names}},
            "required": ["target"],
            "additionalProperties": False,
        },
        invoke=None,
        builtin=TRANSFER_CALL,
        timeout_s=30.0,
    )
