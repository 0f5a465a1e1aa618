"""Realtime API (GA) server events as pydantic models, parsed through one cached adapter.

Only the fields the gateway uses are modelled; anything else the server adds is ignored, so a
new server field never breaks a call. Unknown event *types* become :class:`UnknownServerEvent`
(logged by the caller and ignored). ``response.output_audio.delta`` takes a fast path that skips
validation: it arrives every few milliseconds and its payload is opaque base64.

Beta names are not accepted except ``conversation.item.created``, which the GA type union still
lists; it is parsed like ``conversation.item.added``.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from gateway.errors import RemoteProtocolError

__all__ = ["ServerEvent", "UnknownServerEvent", "parse_server_event"]


class _In(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class _Event(_In):
    event_id: str = ""


# ------------------------------------------------------------------------------------ shared parts


class ErrorDetail(_In):
    type: str
    message: str
    code: str | None = None
    param: str | None = None
    event_id: str | None = None


class ContentPart(_In):
    type: str
    text: str | None = None
    transcript: str | None = None


class Item(_In):
    """A conversation item: message, function_call, function_call_output, mcp_* ..."""

    id: str | None = None
    type: str
    role: str | None = None
    status: str | None = None
    content: list[ContentPart] = Field(default_factory=list)
    call_id: str | None = None
    name: str | None = None
    arguments: str | None = None
    output: str | None = None


class StatusDetails(_In):
    type: str | None = None
    reason: str | None = None
    error: dict[str, Any] | None = None


class Usage(_In):
    total_tokens: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    input_token_details: dict[str, Any] | None = None
    output_token_details: dict[str, Any] | None = None


class ResponseInfo(_In):
    id: str
    status: str | None = None
    status_details: StatusDetails | None = None
    output: list[Item] = Field(default_factory=list)
    usage: Usage | None = None
    metadata: dict[str, str] | None = None


# ------------------------------------------------------------------------------------------ events


class SessionCreated(_Event):
    type: Literal["session.created"]
    session: dict[str, Any]


class SessionUpdated(_Event):
    type: Literal["session.updated"]
    session: dict[str, Any]


class ErrorEvent(_Event):
    type: Literal["error"]
    error: ErrorDetail


class SpeechStarted(_Event):
    type: Literal["input_audio_buffer.speech_started"]
    audio_start_ms: int
    item_id: str


class SpeechStopped(_Event):
    type: Literal["input_audio_buffer.speech_stopped"]
    audio_end_ms: int
    item_id: str


class InputCommitted(_Event):
    type: Literal["input_audio_buffer.committed"]
    item_id: str
    previous_item_id: str | None = None


class InputCleared(_Event):
    type: Literal["input_audio_buffer.cleared"]


class InputTimeoutTriggered(_Event):
    type: Literal["input_audio_buffer.timeout_triggered"]
    audio_start_ms: int
    audio_end_ms: int
    item_id: str


class DtmfReceived(_Event):
    type: Literal["input_audio_buffer.dtmf_event_received"]
    event: str
    received_at: int


class ItemAdded(_Event):
    type: Literal["conversation.item.added", "conversation.item.created"]
    item: Item
    previous_item_id: str | None = None


class ItemDone(_Event):
    type: Literal["conversation.item.done"]
    item: Item
    previous_item_id: str | None = None


class ItemRetrieved(_Event):
    type: Literal["conversation.item.retrieved"]
    item: Item


class ItemTruncated(_Event):
    type: Literal["conversation.item.truncated"]
    item_id: str
    content_index: int
    audio_end_ms: int


class ItemDeleted(_Event):
    type: Literal["conversation.item.deleted"]
    item_id: str


class InputTranscriptionDelta(_Event):
    type: Literal["conversation.item.input_audio_transcription.delta"]
    item_id: str
    content_index: int = 0
    delta: str = ""


class InputTranscriptionCompleted(_Event):
    type: Literal["conversation.item.input_audio_transcription.completed"]
    item_id: str
    content_index: int = 0
    transcript: str


class InputTranscriptionFailed(_Event):
    type: Literal["conversation.item.input_audio_transcription.failed"]
    item_id: str
    content_index: int = 0
    error: dict[str, Any] = Field(default_factory=dict)


class ResponseCreated(_Event):
    type: Literal["response.created"]
    response: ResponseInfo


class ResponseDone(_Event):
    type: Literal["response.done"]
    response: ResponseInfo


class OutputItemAdded(_Event):
    type: Literal["response.output_item.added"]
    response_id: str
    output_index: int = 0
    item: Item


class OutputItemDone(_Event):
    type: Literal["response.output_item.done"]
    response_id: str
    output_index: int = 0
    item: Item


class ContentPartEvent(_Event):
    type: Literal["response.content_part.added", "response.content_part.done"]
    response_id: str
    item_id: str
    output_index: int = 0
    content_index: int = 0


class _ItemPart(_Event):
    response_id: str
    item_id: str
    output_index: int = 0
    content_index: int = 0


class AudioDelta(_ItemPart):
    type: Literal["response.output_audio.delta"]
    delta: str
    """Base64 audio in the session's output format (not decoded or validated here)."""


class AudioDone(_ItemPart):
    type: Literal["response.output_audio.done"]


class TranscriptDelta(_ItemPart):
    type: Literal["response.output_audio_transcript.delta"]
    delta: str


class TranscriptDone(_ItemPart):
    type: Literal["response.output_audio_transcript.done"]
    transcript: str


class TextDelta(_ItemPart):
    type: Literal["response.output_text.delta"]
    delta: str


class TextDone(_ItemPart):
    type: Literal["response.output_text.done"]
    text: str


class ArgumentsDelta(_Event):
    type: Literal["response.function_call_arguments.delta"]
    response_id: str
    item_id: str
    call_id: str
    output_index: int = 0
    delta: str


class ArgumentsDone(_Event):
    type: Literal["response.function_call_arguments.done"]
    response_id: str
    item_id: str
    call_id: str
    name: str
    arguments: str
    output_index: int = 0


class RateLimitsUpdated(_Event):
    type: Literal["rate_limits.updated"]
    rate_limits: list[dict[str, Any]] = Field(default_factory=list)


class OutputBufferEvent(_Event):
    """``output_audio_buffer.*``: sent on WebRTC/SIP sessions, where the server owns playout."""

    type: Literal[
        "output_audio_buffer.started", "output_audio_buffer.stopped", "output_audio_buffer.cleared"
    ]
    response_id: str | None = None


class ConversationCreated(_Event):
    type: Literal["conversation.created"]


class McpEvent(_Event):
    """``mcp_list_tools.*`` and ``response.mcp_call*``: surfaced to the application as is."""

    type: Literal[
        "mcp_list_tools.in_progress",
        "mcp_list_tools.completed",
        "mcp_list_tools.failed",
        "response.mcp_call_arguments.delta",
        "response.mcp_call_arguments.done",
        "response.mcp_call.in_progress",
        "response.mcp_call.completed",
        "response.mcp_call.failed",
    ]
    item_id: str | None = None
    output_index: int | None = None


class UnknownServerEvent(_Event):
    """A server event type this gateway does not handle; kept for logging."""

    type: str
    raw: dict[str, Any] = Field(default_factory=dict)


KnownServerEvent = Annotated[
    SessionCreated
    | SessionUpdated
    | ErrorEvent
    | SpeechStarted
    | SpeechStopped
    | InputCommitted
    | InputCleared
    | InputTimeoutTriggered
    | DtmfReceived
    | ItemAdded
    | ItemDone
    | ItemRetrieved
    | ItemTruncated
    | ItemDeleted
    | InputTranscriptionDelta
    | InputTranscriptionCompleted
    | InputTranscriptionFailed
    | ResponseCreated
    | ResponseDone
    | OutputItemAdded
    | OutputItemDone
    | ContentPartEvent
    | AudioDelta
    | AudioDone
    | TranscriptDelta
    | TranscriptDone
    | TextDelta
    | TextDone
    | ArgumentsDelta
    | ArgumentsDone
    | RateLimitsUpdated
    | OutputBufferEvent
    | ConversationCreated
    | McpEvent,
    Field(discriminator="type"),
]
ServerEvent = KnownServerEvent | UnknownServerEvent


@cache
def _adapter() -> TypeAdapter[KnownServerEvent]:
    return TypeAdapter(KnownServerEvent)


@cache
def _known_types() -> frozenset[str]:
    types: set[str] = set()
    for member in KnownServerEvent.__args__[0].__args__:
        types.update(member.model_fields["type"].annotation.__args__)
    return frozenset(types)


_AUDIO_DELTA = "response.output_audio.delta"
_FAST_AUDIO_KEYS = frozenset({"delta", "item_id", "response_id"})


def parse_server_event(raw: str | bytes) -> ServerEvent:
    """Parse one server message. Raises :class:`RemoteProtocolError` if it is not an event."""
    try:
        data = json.loads(raw)
    except ValueError:
        raise RemoteProtocolError("server message is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise RemoteProtocolError("server message has no event type")
    kind = data["type"]
    if kind == _AUDIO_DELTA and data.keys() >= _FAST_AUDIO_KEYS:
        return AudioDelta.model_construct(**data)
    if kind not in _known_types():
        return UnknownServerEvent(type=kind, event_id=str(data.get("event_id", "")), raw=data)
    try:
        return _adapter().validate_python(data)
    except ValidationError as exc:
        raise RemoteProtocolError(f"malformed {kind} event: {exc.errors()[0]['msg']}") from None
