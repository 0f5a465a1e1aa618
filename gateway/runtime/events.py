"""Events a :class:`~gateway.runtime.session.RealtimeSession` surfaces to the application.

The phone layer (SIP bridge or OpenAI SIP transport) acts on the ``*Requested`` ones: it hangs
up, transfers, or plays a fallback; everything else is for records, metrics and tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway.core.realtime.history import HistoryItem

__all__ = [
    "AgentEnded",
    "AgentStarted",
    "AudioChunk",
    "AudioInterruptedEvent",
    "CallerSpeech",
    "DtmfEvent",
    "EndCallRequested",
    "ErrorOccurred",
    "GuardrailTripped",
    "HandoffDone",
    "HistoryUpdated",
    "InputGuardrailTriggered",
    "McpEventSeen",
    "Reconnected",
    "Reconnecting",
    "ResponseFinished",
    "SessionEvent",
    "SessionFailed",
    "ToolApprovalRequested",
    "ToolEnded",
    "ToolStarted",
    "TranscriptUpdated",
    "TransferRequested",
]


@dataclass(frozen=True, slots=True)
class AgentStarted:
    agent: str


@dataclass(frozen=True, slots=True)
class AgentEnded:
    agent: str


@dataclass(frozen=True, slots=True)
class HandoffDone:
    from_agent: str
    to_agent: str


@dataclass(frozen=True, slots=True)
class AudioChunk:
    """Model audio in the session's output codec (only when no playout sink is attached)."""

    item_id: str
    response_id: str
    audio: bytes


@dataclass(frozen=True, slots=True)
class AudioInterruptedEvent:
    item_id: str | None
    audio_end_ms: int | None
    cause: str


@dataclass(frozen=True, slots=True)
class ToolStarted:
    agent: str
    tool: str
    call_id: str
    arguments: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ToolEnded:
    agent: str
    tool: str
    call_id: str
    output: str
    ok: bool
    duration_s: float


@dataclass(frozen=True, slots=True)
class ToolApprovalRequested:
    """Decide with ``session.approve(call_id)`` or ``session.reject(call_id)``."""

    agent: str
    tool: str
    call_id: str
    arguments: dict[str, Any]


@dataclass(frozen=True, slots=True)
class GuardrailTripped:
    agent: str
    guardrail: str
    reason: str
    item_id: str | None
    heard_ms: int | None
    """How much of the item the caller heard before it was cut (None: unknown / server-side)."""
    leaked: bool | None = None
    """Whether the caller heard the offending part (an estimate; None when unknown)."""


@dataclass(frozen=True, slots=True)
class InputGuardrailTriggered:
    agent: str
    guardrail: str
    action: str
    target: str | None
    message: str | None


@dataclass(frozen=True, slots=True)
class TranscriptUpdated:
    role: str
    item_id: str
    text: str
    final: bool


@dataclass(frozen=True, slots=True)
class HistoryUpdated:
    items: tuple[HistoryItem, ...]


@dataclass(frozen=True, slots=True)
class ResponseFinished:
    response_id: str
    status: str
    reason: str | None
    usage: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CallerSpeech:
    """Server VAD: the caller started (``active``) or stopped speaking."""

    active: bool


@dataclass(frozen=True, slots=True)
class DtmfEvent:
    digits: str


@dataclass(frozen=True, slots=True)
class EndCallRequested:
    """Hang up now: the goodbye (if any) has been played to the caller."""

    reason: str


@dataclass(frozen=True, slots=True)
class TransferRequested:
    """Transfer the caller to ``uri``; report back with ``session.transfer_result``."""

    target: str
    uri: str
    call_id: str


@dataclass(frozen=True, slots=True)
class ErrorOccurred:
    code: str | None
    message: str
    fatal: bool = False


@dataclass(frozen=True, slots=True)
class Reconnecting:
    attempt: int
    reason: str


@dataclass(frozen=True, slots=True)
class Reconnected:
    attempts: int
    replayed_items: int


@dataclass(frozen=True, slots=True)
class SessionFailed:
    """The model is gone for good; the phone layer plays a fallback and ends or transfers."""

    reason: str


@dataclass(frozen=True, slots=True)
class McpEventSeen:
    type: str
    item_id: str | None


SessionEvent = (
    AgentStarted
    | AgentEnded
    | HandoffDone
    | AudioChunk
    | AudioInterruptedEvent
    | ToolStarted
    | ToolEnded
    | ToolApprovalRequested
    | GuardrailTripped
    | InputGuardrailTriggered
    | TranscriptUpdated
    | HistoryUpdated
    | ResponseFinished
    | CallerSpeech
    | DtmfEvent
    | EndCallRequested
    | TransferRequested
    | ErrorOccurred
    | Reconnecting
    | Reconnected
    | SessionFailed
    | McpEventSeen
)
