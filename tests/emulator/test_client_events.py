"""parse_client_event: GA events pass, beta shapes and malformed messages are refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.emulator.client_events import parse_client_event
from gateway.emulator.schema import ClientEventError

GA_CLIENT = Path(__file__).resolve().parents[1] / "data" / "openai-realtime" / "ga" / "client"


EXAMPLES = {p.stem: json.loads(p.read_text()) for p in sorted(GA_CLIENT.glob("*.json"))}
WEBRTC_SIP_ONLY = {"output_audio_buffer.clear"}


@pytest.mark.parametrize("name", sorted(set(EXAMPLES) - WEBRTC_SIP_ONLY))
def test_openai_documented_examples_parse(name: str) -> None:
    """Every strict-JSON GA client example OpenAI documents is accepted as it is."""
    assert parse_client_event(json.dumps(EXAMPLES[name])) == EXAMPLES[name]


def test_webrtc_only_events_are_not_served_over_websocket() -> None:
    """output_audio_buffer.clear is documented WebRTC/SIP only: refused on this transport."""
    assert "output_audio_buffer.clear" in EXAMPLES
    assert _refusal(json.dumps(EXAMPLES["output_audio_buffer.clear"])).param == "type"


def _refusal(message: str | bytes) -> ClientEventError:
    with pytest.raises(ClientEventError) as caught:
        parse_client_event(message)
    return caught.value


def test_beta_event_names_are_invalid_values_listing_ga_types() -> None:
    """A beta or unknown event type lists the GA client event types, as observed live."""
    error = _refusal('{"type": "transcription_session.update", "event_id": "e1"}')
    assert error.code == "invalid_value" and error.param == "type"
    assert error.client_event_id == "e1"
    assert error.message == (
        "Invalid value: 'transcription_session.update'. Supported values are: 'session.update', "
        "'input_audio_buffer.append', 'input_audio_buffer.commit', 'input_audio_buffer.clear', "
        "'conversation.item.create', 'conversation.item.truncate', 'conversation.item.delete', "
        "'conversation.item.retrieve', 'response.create', and 'response.cancel'."
    )


def test_malformed_messages() -> None:
    """Binary frames, invalid JSON, a non-object and a missing type each get their code."""
    assert _refusal(b"{}").code == "invalid_event"
    assert _refusal("{nope").code == "invalid_json"
    assert _refusal("[1]").code == "invalid_event"
    missing = _refusal('{"event_id": "e2"}')
    assert (missing.code, missing.param, missing.client_event_id) == (
        "missing_required_parameter",
        "type",
        "e2",
    )


@pytest.mark.parametrize(
    ("event", "param"),
    [
        ({"type": "response.create", "response": {"modalities": ["audio"]}}, "response.modalities"),
        ({"type": "response.create", "response": {"voice": "alloy"}}, "response.voice"),
        (
            {"type": "response.create", "response": {"output_modalities": ["text", "audio"]}},
            "response.output_modalities",
        ),
        (
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "text", "text": "x"}],
                },
            },
            "item.content[0].type",
        ),
        (
            {
                "type": "conversation.item.truncate",
                "item_id": "i",
                "content_index": 0,
                "audio_end_ms": 1.5,
            },
            "audio_end_ms",
        ),
        (
            {"type": "session.update", "session": {"type": "realtime", "temperature": 0.8}},
            "session.temperature",
        ),
        (
            {
                "type": "session.update",
                "session": {"type": "realtime", "max_response_output_tokens": 5},
            },
            "session.max_response_output_tokens",
        ),
    ],
)
def test_beta_and_malformed_fields_are_refused(event: dict[str, object], param: str) -> None:
    """Beta names and out-of-spec values are refused naming the exact parameter."""
    assert _refusal(json.dumps(event)).param == param
