"""Realtime API (GA) client events we send, and the session configuration they carry.

Models forbid unknown fields, so a beta-era name (``input_audio_format``, ``modalities``,
top-level ``voice``) cannot be built by mistake. Events serialise *sparsely*: only fields that
were set are sent, because ``session.update`` changes exactly the fields present (``null``
clears turn detection; an omitted format is left alone, which the SIP path relies on).

``input_audio_buffer.append`` is the one hot event: :func:`append_audio_json` formats it
directly, without a model, once per 20 ms frame.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway.core.audio.codec import AudioCodec

__all__ = [
    "AudioConfig",
    "AudioFormat",
    "AudioInputConfig",
    "AudioOutputConfig",
    "ClientEvent",
    "FunctionToolDef",
    "ItemCreate",
    "ItemDelete",
    "ItemRetrieve",
    "ItemTruncate",
    "OutputAudioBufferClear",
    "ResponseCancel",
    "ResponseCreate",
    "ResponseParams",
    "SessionConfig",
    "SessionUpdate",
    "TracingConfig",
    "TranscriptionConfig",
    "TurnDetectionConfig",
    "append_audio_json",
    "encode_client_event",
    "function_output_item",
    "system_text_item",
    "user_text_item",
]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def model_post_init(self, context: Any, /) -> None:
        # a literal ``type`` is always sent, even when it came from the default
        if "type" in type(self).model_fields:
            self.__pydantic_fields_set__.add("type")


class AudioFormat(_Out):
    type: Literal["audio/pcmu", "audio/pcma", "audio/pcm"]
    rate: Literal[24000] | None = None

    @classmethod
    def of(cls, codec: AudioCodec) -> AudioFormat:
        return cls.model_validate(codec.to_realtime_format())


class TurnDetectionConfig(_Out):
    type: Literal["server_vad", "semantic_vad"]
    threshold: float | None = None
    prefix_padding_ms: int | None = None
    silence_duration_ms: int | None = None
    idle_timeout_ms: int | None = None
    eagerness: Literal["low", "medium", "high", "auto"] | None = None
    create_response: bool | None = None
    interrupt_response: bool | None = None


class TranscriptionConfig(_Out):
    model: str | None = None
    language: str | None = None
    prompt: str | None = None


class NoiseReduction(_Out):
    type: Literal["near_field", "far_field"]


class AudioInputConfig(_Out):
    format: AudioFormat | None = None
    noise_reduction: NoiseReduction | None = None
    transcription: TranscriptionConfig | None = None
    turn_detection: TurnDetectionConfig | None = None


class AudioOutputConfig(_Out):
    format: AudioFormat | None = None
    voice: str | None = None
    speed: float | None = None


class AudioConfig(_Out):
    input: AudioInputConfig | None = None
    output: AudioOutputConfig | None = None


class FunctionToolDef(_Out):
    type: Literal["function"] = "function"
    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class TracingConfig(_Out):
    workflow_name: str | None = None
    group_id: str | None = None
    metadata: dict[str, Any] | None = None


class SessionConfig(_Out):
    """The GA ``session`` object of ``session.update`` and of the SIP ``accept`` body."""

    type: Literal["realtime"] = "realtime"
    model: str | None = None
    instructions: str | None = None
    output_modalities: list[Literal["audio", "text"]] | None = None
    audio: AudioConfig | None = None
    tools: list[dict[str, Any]] | None = None
    """Function tool definitions (:class:`FunctionToolDef` dumps) and MCP tool objects."""
    tool_choice: str | dict[str, Any] | None = None
    tracing: Literal["auto"] | TracingConfig | None = None
    truncation: Literal["auto", "disabled"] | dict[str, Any] | None = None
    max_output_tokens: int | Literal["inf"] | None = None
    include: list[str] | None = None


class ResponseParams(_Out):
    """Per-response overrides of ``response.create``."""

    instructions: str | None = None
    output_modalities: list[Literal["audio", "text"]] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    conversation: Literal["auto", "none"] | None = None
    metadata: dict[str, str] | None = None
    input: list[dict[str, Any]] | None = None
    max_output_tokens: int | Literal["inf"] | None = None


class SessionUpdate(_Out):
    type: Literal["session.update"] = "session.update"
    session: SessionConfig


class ItemCreate(_Out):
    type: Literal["conversation.item.create"] = "conversation.item.create"
    item: dict[str, Any]
    previous_item_id: str | None = None


class ItemTruncate(_Out):
    type: Literal["conversation.item.truncate"] = "conversation.item.truncate"
    item_id: str
    content_index: int
    audio_end_ms: int


class ItemDelete(_Out):
    type: Literal["conversation.item.delete"] = "conversation.item.delete"
    item_id: str


class ItemRetrieve(_Out):
    type: Literal["conversation.item.retrieve"] = "conversation.item.retrieve"
    item_id: str


class InputAudioCommit(_Out):
    type: Literal["input_audio_buffer.commit"] = "input_audio_buffer.commit"


class InputAudioClear(_Out):
    type: Literal["input_audio_buffer.clear"] = "input_audio_buffer.clear"


class ResponseCreate(_Out):
    type: Literal["response.create"] = "response.create"
    response: ResponseParams | None = None


class ResponseCancel(_Out):
    type: Literal["response.cancel"] = "response.cancel"
    response_id: str | None = None


class OutputAudioBufferClear(_Out):
    """Cut off audio the server is still playing: WebRTC/SIP sessions only."""

    type: Literal["output_audio_buffer.clear"] = "output_audio_buffer.clear"


ClientEvent = (
    SessionUpdate
    | ItemCreate
    | ItemTruncate
    | ItemDelete
    | ItemRetrieve
    | InputAudioCommit
    | InputAudioClear
    | ResponseCreate
    | ResponseCancel
    | OutputAudioBufferClear
)


def encode_client_event(event: ClientEvent, event_id: str | None = None) -> str:
    """The JSON text of ``event``, with only the fields that were set."""
    data = event.model_dump(mode="json", exclude_unset=True)
    if event_id is not None:
        data["event_id"] = event_id
    return json.dumps(data, separators=(",", ":"))


def append_audio_json(audio_b64: str) -> str:
    """``input_audio_buffer.append`` for one chunk of base64 audio (hot path, no model)."""
    return '{"type":"input_audio_buffer.append","audio":"' + audio_b64 + '"}'


def user_text_item(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def system_text_item(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "system", "content": [{"type": "input_text", "text": text}]}


def assistant_text_item(text: str) -> dict[str, Any]:
    return {
        "type": "message",
        "role": "assistant",
        "content": [{"type": "output_text", "text": text}],
    }


def function_output_item(call_id: str, output: str) -> dict[str, Any]:
    return {"type": "function_call_output", "call_id": call_id, "output": output}
