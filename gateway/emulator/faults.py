"""Faults the emulator can inject, from a scenario's ``faults:`` block or CLI flags.

=====================  ==========================================================================
``drop_after_s``       abort the TCP connection (no close frame) this long after it opened
``response_delay_ms``  extra wait between ``response.created`` and the first output
``errors``             ``error`` events at given times (optionally closing the socket after)
``refuse_connections`` refuse this many WebSocket handshakes (``-1``: all) with ``refuse_status``
``stall_after_ms``     stop producing audio once a response has this much (a slow model) ...
``stall_for_ms``       ... for this long (omitted: until the response is cancelled)
=====================  ==========================================================================
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ErrorInjection", "Faults"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ErrorInjection(_Frozen):
    """One ``error`` event sent ``after_s`` seconds into every session."""

    after_s: float = Field(ge=0)
    type: str = "server_error"
    code: str | None = None
    message: str = "The server had an error while processing your request. Sorry about that!"
    close: bool = False
    """Close the connection (code 1011) right after the error."""


class Faults(_Frozen):
    drop_after_s: float | None = Field(default=None, gt=0)
    response_delay_ms: int = Field(default=0, ge=0)
    errors: tuple[ErrorInjection, ...] = ()
    refuse_connections: int = Field(default=0, ge=-1)
    refuse_status: int = Field(default=503, ge=400, le=599)
    stall_after_ms: int | None = Field(default=None, ge=0)
    stall_for_ms: int | None = Field(default=None, ge=0)
