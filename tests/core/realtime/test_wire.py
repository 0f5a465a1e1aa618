"""Realtime wire models: OpenAI's own GA examples parse; our client events are GA-valid."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway.core.audio import AudioCodec
from gateway.core.realtime import wire as w
from gateway.core.realtime.wire_client import (
    AudioConfig,
    AudioFormat,
    AudioInputConfig,
    AudioOutputConfig,
    FunctionToolDef,
    ItemCreate,
    ItemDelete,
    ItemRetrieve,
    ItemTruncate,
    OutputAudioBufferClear,
    ResponseCancel,
    ResponseCreate,
    ResponseParams,
    SessionConfig,
    SessionUpdate,
    TracingConfig,
    TranscriptionConfig,
    TurnDetectionConfig,
    append_audio_json,
    encode_client_event,
    function_output_item,
    system_text_item,
    user_text_item,
)
from gateway.errors import RemoteProtocolError
from tests.realtime_contract import assert_ga_client_event

GA = Path(__file__).resolve().parents[2] / "data" / "openai-realtime" / "ga"
NOT_MODELLED = {"conversation.item.input_audio_transcription.segment"}


def _strict_examples(kind: str) -> list[Path]:
    return sorted((GA / kind).glob("*.json"))


@pytest.mark.parametrize("path", _strict_examples("server"), ids=lambda p: p.stem)
def test_every_ga_server_example_parses(path: Path) -> None:
    """Each documented GA server event parses into its model (or is knowingly unmodelled)."""
    event = w.parse_server_event(path.read_bytes())
    if path.stem in NOT_MODELLED:
        assert isinstance(event, w.UnknownServerEvent)
    else:
        assert not isinstance(event, w.UnknownServerEvent)
        assert event.type == path.stem


def test_audio_delta_takes_the_unvalidated_fast_path() -> None:
    """Audio deltas are constructed without validation: the payload is not inspected."""
    raw = json.dumps(
        {
            "type": "response.output_audio.delta",
            "event_id": "e1",
            "response_id": "resp_1",
            "item_id": "item_1",
            "output_index": 0,
            "content_index": 0,
            "delta": "not really base64 but not checked here",
        }
    )
    event = w.parse_server_event(raw)
    assert isinstance(event, w.AudioDelta)
    assert (event.item_id, event.response_id) == ("item_1", "resp_1")


def test_unknown_types_are_kept_not_raised() -> None:
    """A future server event type is returned as UnknownServerEvent for logging."""
    event = w.parse_server_event('{"type": "response.future_thing", "event_id": "e9", "x": 1}')
    assert isinstance(event, w.UnknownServerEvent)
    assert event.raw["x"] == 1


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "no event type"),
        ('{"type": "input_audio_buffer.speech_started"}', "malformed"),
    ],
)
def test_garbage_from_the_server_is_a_remote_protocol_error(raw: str, message: str) -> None:
    """Non-JSON, typeless or malformed known events raise RemoteProtocolError."""
    with pytest.raises(RemoteProtocolError, match=message):
        w.parse_server_event(raw)


def test_beta_created_event_is_read_as_added() -> None:
    """conversation.item.created (still in the GA union) parses like conversation.item.added."""
    raw = (GA / "server" / "conversation.item.created.json").read_text()
    assert isinstance(w.parse_server_event(raw), w.ItemAdded)


def _full_session() -> SessionConfig:
    return SessionConfig(
        model="gpt-realtime",
        instructions="Answer the phone.",
        output_modalities=["audio"],
        audio=AudioConfig(
            input=AudioInputConfig(
                format=AudioFormat.of(AudioCodec.PCMU),
                transcription=TranscriptionConfig(model="gpt-4o-mini-transcribe", language="en"),
                turn_detection=TurnDetectionConfig(
                    type="server_vad",
                    threshold=0.5,
                    prefix_padding_ms=300,
                    silence_duration_ms=500,
                    idle_timeout_ms=6000,
                    create_response=True,
                    interrupt_response=True,
                ),
            ),
            output=AudioOutputConfig(format=AudioFormat.of(AudioCodec.PCM16), voice="marin"),
        ),
        tools=[FunctionToolDef(name="get_hours", description="Hours").model_dump()],
        tool_choice="auto",
        tracing=TracingConfig(workflow_name="voicegw", group_id="call-1", metadata={"a": "b"}),
        max_output_tokens="inf",
    )


CLIENT_EVENTS = [
    SessionUpdate(session=_full_session()),
    SessionUpdate(session=SessionConfig(instructions="new agent")),
    ItemCreate(item=user_text_item("hello")),
    ItemCreate(item=system_text_item("be brief"), previous_item_id="root"),
    ItemCreate(item=function_output_item("call_1", '{"ok": true}')),
    ItemTruncate(item_id="item_1", content_index=0, audio_end_ms=1500),
    ItemDelete(item_id="item_1"),
    ItemRetrieve(item_id="item_1"),
    ResponseCreate(),
    ResponseCreate(response=ResponseParams(instructions="Say hi", tool_choice="none")),
    ResponseCancel(),
    ResponseCancel(response_id="resp_1"),
    OutputAudioBufferClear(),
]


@pytest.mark.parametrize("event", CLIENT_EVENTS, ids=lambda e: e.type)
def test_client_events_validate_against_the_openai_ga_types(event: object) -> None:
    """Every client event we can build is accepted by the SDK's GA request types."""
    assert_ga_client_event(json.loads(encode_client_event(event, event_id="gw_1")))  # type: ignore[arg-type]


def test_audio_append_is_ga_valid_and_formatted_directly() -> None:
    """The hot-path append string is exactly the GA event."""
    text = append_audio_json("//8=")
    assert json.loads(text) == {"type": "input_audio_buffer.append", "audio": "//8="}
    assert_ga_client_event(json.loads(text))


def test_session_update_is_sparse_and_null_disables_vad() -> None:
    """Unset fields are not sent; an explicit None turn detection is sent as null."""
    update = SessionUpdate(
        session=SessionConfig(audio=AudioConfig(input=AudioInputConfig(turn_detection=None)))
    )
    assert json.loads(encode_client_event(update)) == {
        "type": "session.update",
        "session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}},
    }


def test_beta_field_names_cannot_be_built() -> None:
    """input_audio_format / modalities / top-level voice are refused at construction."""
    for beta in ({"input_audio_format": "g711_ulaw"}, {"modalities": ["audio"]}, {"voice": "x"}):
        with pytest.raises(ValidationError):
            SessionConfig.model_validate(beta)
