"""The GA client events the emulator accepts, as schema data, and the one parse entry point.

Shapes follow the GA reference (openai-python ``types/realtime``); beta names (flat
``input_audio_format``, ``modalities``, top-level ``voice``, ``response.audio.*``...) are simply
absent, so they fail as the real service fails them: ``unknown_parameter`` or, for an event
type, ``invalid_value`` on ``type`` listing the supported types (message as observed live).
"""

from __future__ import annotations

import json
from typing import Any

from gateway.emulator.schema import (
    AnyOf,
    Anything,
    Arr,
    Bool,
    ClientEventError,
    Int,
    Nullable,
    Num,
    Obj,
    Spec,
    Str,
    Tagged,
    check,
    supported_values,
)

__all__ = ["CLIENT_EVENTS", "SIP_CLIENT_EVENTS", "parse_client_event"]

_TYPE = Str()
_ITEM_META: dict[str, Spec] = {"id": Str(), "object": Str(("realtime.item",)), "type": _TYPE}
_ITEM_STATUS = Str(("completed", "incomplete", "in_progress"))

FORMAT = Tagged(
    "type",
    {
        "audio/pcm": Obj({"type": _TYPE, "rate": Int(24000, 24000)}),
        "audio/pcmu": Obj({"type": _TYPE}),
        "audio/pcma": Obj({"type": _TYPE}),
    },
)
_SERVER_VAD = Obj(
    {
        "type": _TYPE,
        "threshold": Num(0.0, 1.0),
        "prefix_padding_ms": Int(0),
        "silence_duration_ms": Int(0),
        "idle_timeout_ms": Nullable(Int(0)),
        "create_response": Bool(),
        "interrupt_response": Bool(),
    }
)
_SEMANTIC_VAD = Obj(
    {
        "type": _TYPE,
        "eagerness": Str(("low", "medium", "high", "auto")),
        "create_response": Bool(),
        "interrupt_response": Bool(),
    }
)
TURN_DETECTION = Nullable(
    Tagged("type", {"server_vad": _SERVER_VAD, "semantic_vad": _SEMANTIC_VAD})
)
TRANSCRIPTION = Nullable(
    Obj(
        {
            "model": Str(),
            "language": Nullable(Str()),
            "prompt": Nullable(Str()),
            "delay": Str(("minimal", "low", "medium", "high", "xhigh")),
            "keywords": Arr(Str()),
            "languages": Arr(Str()),
        }
    )
)
_NOISE = Nullable(Obj({"type": Str(("near_field", "far_field")), "strength": Num(0.0)}))
VOICE = AnyOf((Str(), Obj({"id": Str()}, frozenset({"id"}))))
_AUDIO = Obj(
    {
        "input": Obj(
            {
                "format": FORMAT,
                "noise_reduction": _NOISE,
                "transcription": TRANSCRIPTION,
                "turn_detection": TURN_DETECTION,
            }
        ),
        "output": Obj({"format": FORMAT, "voice": VOICE, "speed": Num(0.25, 1.5)}),
    }
)
_FUNCTION_TOOL = Obj(
    {"type": _TYPE, "name": Str(), "description": Str(), "parameters": Anything()},
    frozenset({"name"}),
)
_MCP_TOOL_FIELDS = (
    "server_label",
    "server_url",
    "server_description",
    "connector_id",
    "tunnel_id",
    "authorization",
    "headers",
    "allowed_tools",
    "require_approval",
    "allowed_callers",
    "defer_loading",
)
_MCP_TOOL = Obj(
    {"type": _TYPE, **{name: Anything() for name in _MCP_TOOL_FIELDS}},
    frozenset({"server_label"}),
)
TOOLS = Arr(Tagged("type", {"function": _FUNCTION_TOOL, "mcp": _MCP_TOOL}))
TOOL_CHOICE = AnyOf(
    (
        Str(("auto", "none", "required")),
        Tagged(
            "type",
            {
                "function": Obj({"type": _TYPE, "name": Str()}, frozenset({"name"})),
                "mcp": Obj(
                    {"type": _TYPE, "server_label": Str(), "name": Nullable(Str())},
                    frozenset({"server_label"}),
                ),
            },
        ),
    )
)
_TRACING = Nullable(
    AnyOf(
        (
            Str(("auto",)),
            Obj({"workflow_name": Str(), "group_id": Str(), "metadata": Anything()}),
        )
    )
)
_TRUNCATION = AnyOf(
    (
        Str(("auto", "disabled")),
        Tagged(
            "type",
            {
                "retention_ratio": Obj(
                    {
                        "type": _TYPE,
                        "retention_ratio": Num(0.0, 1.0),
                        "token_limits": Obj({"post_instructions": Int(0)}),
                    },
                    frozenset({"retention_ratio"}),
                )
            },
        ),
    )
)
MAX_OUTPUT_TOKENS = AnyOf((Int(1, 4096), Str(("inf",))))
MODALITIES = Arr(Str(("text", "audio")), max_len=1)
_PROMPT = Nullable(
    Obj(
        {"id": Str(), "version": Nullable(Str()), "variables": Anything()},
        frozenset({"id"}),
    )
)
_REASONING = Obj({"effort": Str()})

SESSION = Obj(
    {
        "type": Str(("realtime",)),
        "model": Str(),
        "output_modalities": MODALITIES,
        "instructions": Str(),
        "audio": _AUDIO,
        "tools": TOOLS,
        "tool_choice": TOOL_CHOICE,
        "tracing": _TRACING,
        "truncation": _TRUNCATION,
        "max_output_tokens": MAX_OUTPUT_TOKENS,
        "include": Nullable(Arr(Str(("item.input_audio_transcription.logprobs",)))),
        "prompt": _PROMPT,
        "reasoning": _REASONING,
        "parallel_tool_calls": Bool(),
    },
    frozenset({"type"}),
)

# ----------------------------------------------------------------------------- items

_USER_CONTENT = Tagged(
    "type",
    {
        "input_text": Obj({"type": _TYPE, "text": Str()}, frozenset({"text"})),
        "input_audio": Obj({"type": _TYPE, "audio": Str(), "transcript": Nullable(Str())}),
        "input_image": Obj(
            {"type": _TYPE, "image_url": Str(), "detail": Str(("auto", "low", "high"))}
        ),
    },
)
_SYSTEM_CONTENT = Tagged(
    "type", {"input_text": Obj({"type": _TYPE, "text": Str()}, frozenset({"text"}))}
)
# Assistant parts need ``text`` even when typed output_audio: the API answers an audio part
# with "Missing required parameter: 'item.content[0].text'." (openai-agents-js #963).
_ASSISTANT_CONTENT = Obj(
    {
        "type": Str(("output_text", "output_audio")),
        "text": Str(),
        "audio": Nullable(Str()),
        "transcript": Nullable(Str()),
    },
    frozenset({"type", "text"}),
)


def _message(content: Spec) -> Obj:
    fields: dict[str, Spec] = {
        **_ITEM_META,
        "status": _ITEM_STATUS,
        "role": Str(),
        "content": Arr(content),
    }
    return Obj(fields, frozenset({"content"}))


ITEM = Tagged(
    "type",
    {
        "message": Tagged(
            "role",
            {
                "user": _message(_USER_CONTENT),
                "system": _message(_SYSTEM_CONTENT),
                "assistant": _message(_ASSISTANT_CONTENT),
            },
        ),
        "function_call": Obj(
            {
                **_ITEM_META,
                "status": _ITEM_STATUS,
                "call_id": Str(),
                "name": Str(),
                "arguments": Str(),
            },
            frozenset({"name", "arguments"}),
        ),
        "function_call_output": Obj(
            {**_ITEM_META, "status": _ITEM_STATUS, "call_id": Str(), "output": Str()},
            frozenset({"call_id", "output"}),
        ),
    },
)
_INPUT_VARIANTS: dict[str, Spec] = {**ITEM.variants}
_INPUT_ITEM = Tagged(
    "type",
    {
        **_INPUT_VARIANTS,
        "item_reference": Obj({"type": _TYPE, "id": Str()}, frozenset({"id"})),
    },
)
RESPONSE = Obj(
    {
        "conversation": Str(),
        "input": Arr(_INPUT_ITEM),
        "instructions": Str(),
        "max_output_tokens": MAX_OUTPUT_TOKENS,
        "metadata": Nullable(Anything()),
        "output_modalities": MODALITIES,
        "parallel_tool_calls": Bool(),
        "prompt": _PROMPT,
        "reasoning": _REASONING,
        "tool_choice": TOOL_CHOICE,
        "tools": TOOLS,
        "audio": Obj({"output": Obj({"format": FORMAT, "voice": VOICE})}),
    }
)

# ----------------------------------------------------------------------------- events


def _event(fields: dict[str, Spec], required: tuple[str, ...] = ()) -> Obj:
    return Obj({"type": _TYPE, "event_id": Str(), **fields}, frozenset(required))


CLIENT_EVENTS: dict[str, Obj] = {
    "session.update": _event({"session": SESSION}, ("session",)),
    "input_audio_buffer.append": _event({"audio": Str()}, ("audio",)),
    "input_audio_buffer.commit": _event({}),
    "input_audio_buffer.clear": _event({}),
    "conversation.item.create": _event(
        {"previous_item_id": Nullable(Str()), "item": ITEM}, ("item",)
    ),
    "conversation.item.truncate": _event(
        {"item_id": Str(), "content_index": Int(0), "audio_end_ms": Int(0)},
        ("item_id", "content_index", "audio_end_ms"),
    ),
    "conversation.item.delete": _event({"item_id": Str()}, ("item_id",)),
    "conversation.item.retrieve": _event({"item_id": Str()}, ("item_id",)),
    "response.create": _event({"response": RESPONSE}),
    "response.cancel": _event({"response_id": Str()}),
}
SIP_CLIENT_EVENTS: dict[str, Obj] = {
    **CLIENT_EVENTS,
    "output_audio_buffer.clear": _event({}),
}
"""A SIP (or WebRTC) session also takes ``output_audio_buffer.clear``: the server plays."""


def parse_client_event(text: str | bytes, events: dict[str, Obj] = CLIENT_EVENTS) -> dict[str, Any]:
    """Parse one WebSocket message into a validated GA client event dict.

    Raises :class:`ClientEventError` (with the client's ``event_id`` as an attribute once it is
    known) for binary frames, invalid JSON, a missing or unknown ``type`` and any schema error.
    """
    if isinstance(text, bytes):
        raise ClientEventError(
            "Expected a text WebSocket message; binary frames are not supported.",
            code="invalid_event",
        )
    try:
        event = json.loads(text)
    except ValueError as exc:
        raise ClientEventError(
            f"Invalid event: failed to parse JSON value. {exc}", code="invalid_json"
        ) from None
    if not isinstance(event, dict):
        raise ClientEventError("Invalid event: expected a JSON object.", code="invalid_event")
    try:
        _check_event(event, events)
    except ClientEventError as exc:
        event_id = event.get("event_id")
        exc.client_event_id = event_id if isinstance(event_id, str) else None
        raise
    return event


def _check_event(event: dict[str, Any], events: dict[str, Obj]) -> None:
    if "type" not in event:
        raise ClientEventError(
            "Missing required parameter: 'type'.", code="missing_required_parameter", param="type"
        )
    check(event["type"], Str(), "type")
    spec = events.get(event["type"])
    if spec is None:
        raise ClientEventError(
            f"Invalid value: '{event['type']}'. Supported values are: "
            f"{supported_values(list(events))}.",
            code="invalid_value",
            param="type",
        )
    check(event, spec, "")
