"""EmulatedSession over real loopback sockets: config echo, errors, input audio, VAD, idle."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from gateway.core.audio import pcm16_to_alaw, ulaw_to_pcm16
from gateway.emulator import EmulatedSession, Scenario, SessionOptions, detect_word_tones
from gateway.emulator.session import Close, Send
from tests.emulator.client import (
    PCMU_SESSION,
    RealtimeClient,
    b64,
    check_server_event,
    connect,
    silence,
    tone,
    ulaw,
    unb64,
)
from tests.emulator.conftest import StartEmulator

VAD_SESSION: dict[str, Any] = {
    "audio": {
        "input": {
            "format": {"type": "audio/pcmu"},
            "transcription": {"model": "gpt-4o-mini-transcribe"},
            "turn_detection": {
                "type": "server_vad",
                "threshold": 0.5,
                "prefix_padding_ms": 300,
                "silence_duration_ms": 500,
            },
        },
        "output": {"format": {"type": "audio/pcmu"}},
    }
}


def _types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


# ----------------------------------------------------------------------------- configuration


async def test_session_created_echoes_the_full_default_config(emulator: StartEmulator) -> None:
    """The first event is session.created with the complete GA default configuration."""
    server = await emulator()
    async with connect(server.url, "?model=gpt-realtime-2.1") as client:
        session = client.events[0]["session"]
    assert session["type"] == "realtime"
    assert session["model"] == "gpt-realtime-2.1"
    assert session["output_modalities"] == ["audio"]
    assert session["tools"] == [] and session["tool_choice"] == "auto"
    assert session["max_output_tokens"] == "inf" and session["truncation"] == "auto"
    assert session["tracing"] is None and session["instructions"]
    assert session["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert session["audio"]["output"] == {
        "format": {"type": "audio/pcm", "rate": 24000},
        "voice": "marin",
        "speed": 1.0,
    }
    assert session["audio"]["input"]["turn_detection"] == {
        "type": "server_vad",
        "threshold": 0.5,
        "prefix_padding_ms": 300,
        "silence_duration_ms": 200,
        "idle_timeout_ms": None,
        "create_response": True,
        "interrupt_response": True,
    }
    assert session["audio"]["input"]["transcription"] is None
    assert 3590 < session["expires_at"] - time.time() <= 3600


async def test_session_update_is_sparse(emulator: StartEmulator) -> None:
    """Only fields present change; audio.input/output merge key by key; the echo is full."""
    server = await emulator()
    async with connect(server.url) as client:
        before = client.events[0]["session"]
        after = await client.update({"instructions": "Be brief."})
        assert after == {**before, "instructions": "Be brief."}
        after = await client.update({"audio": {"output": {"format": {"type": "audio/pcmu"}}}})
        assert after["instructions"] == "Be brief."
        assert after["audio"]["output"] == {
            "format": {"type": "audio/pcmu"},
            "voice": "marin",
            "speed": 1.0,
        }
        assert after["audio"]["input"] == before["audio"]["input"]


async def test_turn_detection_null_disables_vad_and_partial_objects_get_defaults(
    emulator: StartEmulator,
) -> None:
    """null turns VAD off; a turn_detection object given in part is completed with defaults."""
    server = await emulator()
    async with connect(server.url) as client:
        off = await client.update({"audio": {"input": {"turn_detection": None}}})
        assert off["audio"]["input"]["turn_detection"] is None
        on = await client.update(
            {"audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": 0.7}}}}
        )
        assert on["audio"]["input"]["turn_detection"] == {
            "type": "server_vad",
            "threshold": 0.7,
            "prefix_padding_ms": 300,
            "silence_duration_ms": 500,
            "idle_timeout_ms": None,
            "create_response": True,
            "interrupt_response": True,
        }
        semantic = await client.update(
            {"audio": {"input": {"turn_detection": {"type": "semantic_vad", "eagerness": "high"}}}}
        )
        assert semantic["audio"]["input"]["turn_detection"] == {
            "type": "semantic_vad",
            "eagerness": "high",
            "create_response": True,
            "interrupt_response": True,
        }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("input_audio_format", "g711_ulaw"),
        ("modalities", ["text", "audio"]),
        ("voice", "alloy"),
        ("turn_detection", None),
    ],
)
async def test_beta_shaped_session_fields_are_unknown_parameters(
    emulator: StartEmulator, field: str, value: Any
) -> None:
    """A beta field gets unknown_parameter naming it, with the client's event_id; no update."""
    server = await emulator()
    async with connect(server.url) as client:
        await client.send_raw(
            {
                "type": "session.update",
                "event_id": "evt_beta",
                "session": {"type": "realtime", field: value},
            }
        )
        error = (await client.expect("error"))["error"]
        assert error == {
            "type": "invalid_request_error",
            "code": "unknown_parameter",
            "message": f"Unknown parameter: 'session.{field}'.",
            "param": f"session.{field}",
            "event_id": "evt_beta",
        }
        assert (await client.update({}))["audio"] == client.events[0]["session"]["audio"]


async def test_null_format_is_an_invalid_type(emulator: StartEmulator) -> None:
    """format: null is refused as the API refuses it (openai-agents-python #2308)."""
    server = await emulator()
    async with connect(server.url) as client:
        await client.send_raw(
            {
                "type": "session.update",
                "session": {"type": "realtime", "audio": {"input": {"format": None}}},
            }
        )
        error = (await client.expect("error"))["error"]
        assert error["code"] == "invalid_type"
        assert error["message"] == (
            "Invalid type for 'session.audio.input.format': expected an object, "
            "but got null instead."
        )
        assert error["param"] == "session.audio.input.format"
        assert error["event_id"] is None


async def test_session_type_is_required_and_pcm_rate_must_be_24k(emulator: StartEmulator) -> None:
    """A GA update without session.type, or PCM at 16 kHz, is refused with the API's words."""
    server = await emulator()
    async with connect(server.url) as client:
        await client.send_raw({"type": "session.update", "session": {"instructions": "x"}})
        error = (await client.expect("error"))["error"]
        assert error["message"] == "Missing required parameter: 'session.type'."
        assert error["code"] == "missing_required_parameter"
        pcm16k = {"format": {"type": "audio/pcm", "rate": 16000}}
        await client.send_raw(
            {"type": "session.update", "session": {"type": "realtime", "audio": {"input": pcm16k}}}
        )
        error = (await client.expect("error"))["error"]
        assert error["code"] == "integer_below_min_value"
        assert error["param"] == "session.audio.input.format.rate"


async def test_voice_is_locked_once_the_model_produced_audio(emulator: StartEmulator) -> None:
    """The voice can change before any audio; after a spoken response it is cannot_update_voice."""
    server = await emulator()
    async with connect(server.url) as client:
        assert (await client.update({"audio": {"output": {"voice": "cedar"}}}))["audio"]["output"][
            "voice"
        ] == "cedar"
        await client.send({"type": "response.create"})
        await client.until("response.done")
        await client.send(
            {
                "type": "session.update",
                "event_id": "evt_voice",
                "session": {"type": "realtime", "audio": {"output": {"voice": "ash"}}},
            }
        )
        error = (await client.until("error"))[-1]["error"]
        assert error["code"] == "cannot_update_voice"
        assert error["message"] == (
            "Cannot update a conversation's voice if assistant audio is present."
        )
        assert error["event_id"] == "evt_voice"
        same = await client.update({"audio": {"output": {"voice": "cedar"}}})
        assert same["audio"]["output"]["voice"] == "cedar"


async def test_unknown_event_invalid_json_and_binary_frames_are_errors(
    emulator: StartEmulator,
) -> None:
    """Each bad message gets its own error and the session carries on."""
    server = await emulator()
    async with connect(server.url) as client:
        await client.send_raw({"type": "response.audio.delta", "event_id": "evt_x"})
        error = (await client.expect("error"))["error"]
        assert error["code"] == "invalid_value" and error["param"] == "type"
        assert error["event_id"] == "evt_x"
        assert error["message"].startswith(
            "Invalid value: 'response.audio.delta'. Supported values are: 'session.update', "
        )
        assert error["message"].endswith("'response.create', and 'response.cancel'.")
        await client.send_raw("not json")
        assert (await client.expect("error"))["error"]["code"] == "invalid_json"
        await client.send_raw(b"\x00\x01")
        assert (await client.expect("error"))["error"]["code"] == "invalid_event"
        await client.update({})


# ----------------------------------------------------------------------------- input audio


async def _vad_turn(client: RealtimeClient, encode: Any, rate: int, chunk: int) -> None:
    audio = encode(silence(1000, rate) + tone(600, rate=rate) + silence(800, rate))
    await client.append(audio, chunk)


async def test_server_vad_on_pcmu_reports_input_timeline_and_answers(
    emulator: StartEmulator,
) -> None:
    """Tone at 1000-1600 ms: started at 700 (300 ms padding), stopped at 2100 (500 ms silence),
    the turn is committed, transcribed with the scripted words and answered."""
    scenario = Scenario(caller_transcripts=("what time do you open",))
    server = await emulator(scenario)
    async with connect(server.url) as client:
        await client.update(VAD_SESSION)
        await _vad_turn(client, ulaw, 8000, 160)
        events = await client.until("response.done")
    started, stopped, committed = events[0], events[1], events[2]
    assert started["type"] == "input_audio_buffer.speech_started"
    assert started["audio_start_ms"] == 700
    assert stopped == {**stopped, "type": "input_audio_buffer.speech_stopped", "audio_end_ms": 2100}
    assert committed["type"] == "input_audio_buffer.committed"
    assert started["item_id"] == stopped["item_id"] == committed["item_id"]
    kinds = _types(events)
    assert kinds[3:5] == ["conversation.item.added", "conversation.item.done"]
    assert events[3]["item"]["content"] == [{"type": "input_audio", "transcript": None}]
    deltas = [e["delta"] for e in events if e["type"].endswith("transcription.delta")]
    assert "".join(deltas) == "what time do you open"
    completed = next(e for e in events if e["type"].endswith("transcription.completed"))
    assert completed["transcript"] == "what time do you open"
    assert completed["usage"]["type"] == "tokens"
    assert kinds.index("rate_limits.updated") < kinds.index("response.created")
    assert events[-1]["response"]["status"] == "completed"
    user = server.sessions[0].conversation.items[0]
    assert user.audio_ms == 1400  # 700 .. 2100 ms of input
    spoken = next(e for e in events if e["type"] == "response.output_audio_transcript.done")
    assert "what time do you open" in spoken["transcript"]


async def test_server_vad_on_pcm_24k_uses_the_same_timeline(emulator: StartEmulator) -> None:
    """PCM16 24 kHz input in odd-sized chunks: the same ms, because the timeline is in ms."""
    server = await emulator()
    async with connect(server.url) as client:
        await client.update({"audio": {"input": {"turn_detection": {"type": "server_vad"}}}})
        await _vad_turn(client, bytes, 24000, 999)
        events = await client.until("input_audio_buffer.committed")
    assert events[0]["audio_start_ms"] == 700
    assert events[1]["audio_end_ms"] == 2100


async def test_threshold_maps_to_an_energy_level(emulator: StartEmulator) -> None:
    """A quiet tone (-33 dBFS RMS) is speech at threshold 0.5 (-45 dBFS) but not at 0.9."""
    server = await emulator()
    quiet = ulaw(silence(200) + tone(400, amplitude=1000) + silence(700))
    async with connect(server.url) as client:
        await client.update(
            {
                "audio": {
                    "input": {
                        "format": {"type": "audio/pcmu"},
                        "turn_detection": {"type": "server_vad", "threshold": 0.9},
                    }
                }
            }
        )
        await client.append(quiet)
        await client.update({"audio": {"input": {"turn_detection": {"type": "server_vad"}}}})
        await client.append(quiet)
        started = await client.expect("input_audio_buffer.speech_started")
    assert started["audio_start_ms"] == 1300 + 200 - 300  # the second burst only


async def test_create_response_false_commits_without_answering(emulator: StartEmulator) -> None:
    """VAD still commits the turn, but no response starts on its own."""
    server = await emulator()
    detection = {"type": "server_vad", "create_response": False, "silence_duration_ms": 200}
    async with connect(server.url) as client:
        await client.update(
            {"audio": {"input": {"format": {"type": "audio/pcmu"}, "turn_detection": detection}}}
        )
        await client.append(ulaw(tone(300) + silence(400)))
        events = await client.until("conversation.item.done")
        await client.update({})  # a round trip: nothing else was queued before it
    assert _types(events) == [
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
    ]
    assert events[1]["audio_end_ms"] == 500
    assert client.events[-1]["type"] == "session.updated"


async def test_vad_off_needs_a_manual_commit(emulator: StartEmulator) -> None:
    """With turn_detection null there are no speech events; commit, empty commit, clear."""
    server = await emulator()
    async with connect(server.url) as client:
        await client.update(PCMU_SESSION)
        await client.update({"audio": {"input": {"turn_detection": None}}})
        await client.append(pcm16_to_alaw(tone(300)))  # any bytes: no VAD looks at them
        await client.send({"type": "input_audio_buffer.commit", "event_id": "evt_c1"})
        committed = await client.expect("input_audio_buffer.committed")
        assert committed["previous_item_id"] is None
        await client.until("conversation.item.done")
        await client.send({"type": "input_audio_buffer.commit", "event_id": "evt_c2"})
        error = (await client.expect("error"))["error"]
        assert error == {
            "type": "invalid_request_error",
            "code": "input_audio_buffer_commit_empty",
            "message": "Error committing input audio buffer: buffer too small. Expected at "
            "least 100ms of audio, but buffer only has 0.00ms of audio.",
            "param": None,
            "event_id": "evt_c2",
        }
        await client.append(ulaw(tone(60)))
        await client.send({"type": "input_audio_buffer.clear"})
        await client.expect("input_audio_buffer.cleared")
        await client.send({"type": "input_audio_buffer.commit"})
        assert "0.00ms" in (await client.expect("error"))["error"]["message"]


async def test_invalid_base64_audio_is_refused(emulator: StartEmulator) -> None:
    """An append whose audio is not base64 gets an error naming 'audio'."""
    server = await emulator()
    async with connect(server.url) as client:
        await client.send({"type": "input_audio_buffer.append", "audio": "@@@"})
        assert (await client.expect("error"))["error"]["param"] == "audio"


async def test_retrieve_returns_the_committed_audio(emulator: StartEmulator) -> None:
    """conversation.item.retrieved carries the user's audio, in the input format."""
    server = await emulator()
    audio = ulaw(tone(200))
    async with connect(server.url) as client:
        await client.update(
            {"audio": {"input": {"format": {"type": "audio/pcmu"}, "turn_detection": None}}}
        )
        await client.append(audio)
        await client.send({"type": "input_audio_buffer.commit"})
        item_id = (await client.expect("input_audio_buffer.committed"))["item_id"]
        await client.until("conversation.item.done")
        await client.send({"type": "conversation.item.retrieve", "item_id": item_id})
        item = (await client.expect("conversation.item.retrieved"))["item"]
    assert unb64(item["content"][0]["audio"]) == audio


# ----------------------------------------------------------------------------- idle timeout


async def test_idle_timeout_counts_from_the_end_of_playback(emulator: StartEmulator) -> None:
    """timeout_triggered after idle_timeout_ms; the next one waits for the reply's audio to end."""
    server = await emulator(Scenario(idle_reply="Hello?"))
    detection = {"type": "server_vad", "idle_timeout_ms": 300}
    async with connect(server.url) as client:
        await client.update(PCMU_SESSION)
        await client.update({"audio": {"input": {"turn_detection": detection}}})
        updated_at = client.arrival[-1]
        first = await client.until("response.done")
        assert first[0]["type"] == "input_audio_buffer.timeout_triggered"
        assert first[0]["audio_start_ms"] == first[0]["audio_end_ms"] == 0
        assert first[1]["type"] == "input_audio_buffer.committed"
        assert first[1]["item_id"] == first[0]["item_id"]
        assert 0.25 < client.arrival[-len(first)] - updated_at < 0.6
        spoken = next(e for e in first if e["type"] == "response.output_audio_transcript.done")
        assert spoken["transcript"] == "Hello?"
        audio_s = (
            sum(len(unb64(e["delta"])) for e in first if e["type"] == "response.output_audio.delta")
            / 8000
        )
        done_at = client.arrival[-1]
        await client.expect("input_audio_buffer.timeout_triggered", within=5)
    waited = client.arrival[-1] - done_at
    assert audio_s + 0.25 < waited < audio_s + 0.6


# ----------------------------------------------------------------------------- sans-I/O


def test_session_expiry_message_names_sixty_minutes() -> None:
    """At the 60-minute cap: error session_expired with the API's message, then close 4000."""
    session = EmulatedSession(SessionOptions(), now=0.0, unix_time=1e9)
    assert session.open(0.0)
    assert session.next_deadline() == 3600.0
    assert session.tick(3599.0) == []
    actions = session.tick(3600.0)
    assert isinstance(actions[0], Send) and isinstance(actions[1], Close)
    check_server_event(actions[0].event)
    assert actions[0].event["error"]["code"] == "session_expired"
    assert actions[0].event["error"]["message"] == (
        "Your session hit the maximum duration of 60 minutes."
    )
    assert actions[1] == Close(4000, "invalid_request_error.session_expired")
    assert session.closed and session.receive('{"type": "response.create"}', 3601.0) == []


def test_append_without_vad_produces_no_events() -> None:
    """Appends are not acknowledged: with VAD finding no speech there is nothing to send."""
    session = EmulatedSession(SessionOptions(), now=0.0, unix_time=1e9)
    session.open(0.0)
    message = json.dumps({"type": "input_audio_buffer.append", "audio": b64(silence(20, 24000))})
    assert session.receive(message, 0.1) == []


# ----------------------------------------------------------------------------- conversations

HOURS_TOOL = {
    "type": "function",
    "name": "get_hours",
    "description": "Opening hours for a day.",
    "parameters": {
        "type": "object",
        "properties": {"day": {"type": "string", "enum": ["monday", "sunday"]}},
    },
}
BILLING_TOOL = {
    "type": "function",
    "name": "transfer_to_billing",
    "description": "Handoff to the billing agent for invoices.",
    "parameters": {"type": "object", "properties": {}},
}


async def _audio_turn(client: RealtimeClient) -> list[dict[str, Any]]:
    await client.append(ulaw(tone(400) + silence(600)))  # default silence_duration_ms: 500
    return await client.until("response.done")


async def test_a_whole_call_with_audio_turns_and_the_default_model(
    emulator: StartEmulator,
) -> None:
    """Greeting, then two audio turns (scripted words): a tool call answered from its output,
    then a handoff to the agent the caller's words name."""
    scenario = Scenario(
        caller_transcripts=("are you open on sunday", "I need help with an invoice")
    )
    server = await emulator(scenario)
    async with connect(server.url) as client:
        await client.update(
            {
                **PCMU_SESSION,
                "instructions": "You are the front desk.",
                "tools": [HOURS_TOOL, BILLING_TOOL],
            }
        )
        await client.update({"audio": {"input": {"turn_detection": {"type": "server_vad"}}}})
        await client.send({"type": "response.create"})
        await client.until("response.done")
        first = await _audio_turn(client)
        call = next(e for e in first if e["type"] == "response.function_call_arguments.done")
        assert (call["name"], json.loads(call["arguments"])) == ("get_hours", {"day": "sunday"})
        await client.send(
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "function_call_output",
                    "call_id": call["call_id"],
                    "output": '{"sunday": "closed"}',
                },
            }
        )
        await client.send({"type": "response.create"})
        answer = await client.until("response.done")
        second = await _audio_turn(client)
    spoken = next(e for e in answer if e["type"] == "response.output_audio_transcript.done")
    assert spoken["transcript"] == "Here is what I found: sunday closed."
    handoff = next(e for e in second if e["type"] == "response.function_call_arguments.done")
    assert handoff["name"] == "transfer_to_billing"
    roles = [(i.type, i.role) for i in server.sessions[0].conversation.items]
    assert roles == [
        ("message", "assistant"),
        ("message", "user"),
        ("function_call", None),
        ("function_call_output", None),
        ("message", "assistant"),
        ("message", "user"),
        ("function_call", None),
    ]


async def test_the_tones_voice_speaks_one_detectable_tone_per_word(
    emulator: StartEmulator,
) -> None:
    """With voice: tones, the μ-law a client receives decodes back to every word in order."""
    sentence = "Your card number is 4111 1111 1111 1111."
    server = await emulator(Scenario(voice="tones", greeting=sentence))
    async with connect(server.url) as client:
        await client.update(PCMU_SESSION)
        await client.send({"type": "response.create"})
        events = await client.until("response.done")
    audio = b"".join(
        unb64(e["delta"]) for e in events if e["type"] == "response.output_audio.delta"
    )
    assert detect_word_tones(ulaw_to_pcm16(audio), 8000) == list(range(len(sentence.split())))
