"""Responses over loopback: one active per conversation, cancel, barge-in, tools, overrides."""

from __future__ import annotations

import json
from typing import Any

from gateway.emulator import Faults, Pace, Rule, Scenario
from gateway.emulator.scenario import ToolCallSpec
from tests.emulator.client import PCMU_SESSION, RealtimeClient, connect, silence, tone, ulaw, unb64
from tests.emulator.conftest import StartEmulator

LONG = "This is a long answer that keeps talking for a good few seconds, on and on and on."
SLOW = Pace(chunk_ms=100, gap_ms=20, latency_ms=0)
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}


def _types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


async def test_a_second_response_create_is_refused_while_one_is_active(
    emulator: StartEmulator,
) -> None:
    """conversation_already_has_active_response names the active response; it carries on."""
    server = await emulator(Scenario(greeting=LONG), pace=SLOW)
    async with connect(server.url) as client:
        await client.send({"type": "response.create"})
        created = (await client.until("response.created"))[-1]["response"]
        await client.send({"type": "response.create", "event_id": "evt_second"})
        events = await client.until("error")
        error = events[-1]["error"]
        assert error["code"] == "conversation_already_has_active_response"
        assert error["message"] == (
            f"Conversation already has an active response in progress: {created['id']}. "
            "Wait until the response is finished before creating a new one."
        )
        assert error["event_id"] == "evt_second"
        done = (await client.until("response.done"))[-1]["response"]
    assert done["id"] == created["id"] and done["status"] == "completed"


async def test_response_cancel_ends_with_cancelled_and_a_second_cancel_is_an_error(
    emulator: StartEmulator,
) -> None:
    """Cancel: the open part closes incomplete, response.done cancelled/client_cancelled; then
    response_cancel_not_active."""
    server = await emulator(Scenario(greeting=LONG), pace=SLOW)
    async with connect(server.url) as client:
        await client.send({"type": "response.create"})
        await client.until("response.output_audio.delta")
        await client.send({"type": "response.cancel"})
        events = await client.until("response.done")
        await client.send({"type": "response.cancel", "event_id": "evt_late"})
        error = (await client.expect("error"))["error"]
    tail = _types(events)[-6:]
    assert tail == [
        "response.output_audio.done",
        "response.output_audio_transcript.done",
        "response.content_part.done",
        "conversation.item.done",
        "response.output_item.done",
        "response.done",
    ]
    response = events[-1]["response"]
    assert response["status"] == "cancelled"
    assert response["status_details"] == {"type": "cancelled", "reason": "client_cancelled"}
    assert response["output"][0]["status"] == "incomplete"
    heard = response["output"][0]["content"][0]["transcript"]
    assert heard and LONG.startswith(heard) and heard != LONG
    assert error == {
        "type": "invalid_request_error",
        "code": "response_cancel_not_active",
        "message": "Cancellation failed: no active response found",
        "param": None,
        "event_id": "evt_late",
    }


async def test_caller_speech_cancels_the_response_with_turn_detected(
    emulator: StartEmulator,
) -> None:
    """Barge-in: speech_started, then the server cancels the response (interrupt_response)."""
    server = await emulator(Scenario(greeting=LONG), pace=SLOW)
    async with connect(server.url) as client:
        await client.update(PCMU_SESSION)
        await client.send({"type": "response.create"})
        await client.until("response.output_audio.delta")
        await client.append(ulaw(tone(100)))
        events = await client.until("response.done")
    kinds = _types(events)
    assert kinds.index("input_audio_buffer.speech_started") < kinds.index("response.done")
    assert events[-1]["response"]["status_details"] == {
        "type": "cancelled",
        "reason": "turn_detected",
    }


async def test_without_interrupt_response_the_model_keeps_talking(
    emulator: StartEmulator,
) -> None:
    """interrupt_response false: speech is reported but the response completes."""
    server = await emulator(Scenario(greeting=LONG), pace=SLOW)
    detection = {"type": "server_vad", "interrupt_response": False, "create_response": False}
    async with connect(server.url) as client:
        await client.update(PCMU_SESSION)
        await client.update({"audio": {"input": {"turn_detection": detection}}})
        await client.send({"type": "response.create"})
        await client.until("response.output_audio.delta")
        await client.append(ulaw(tone(100)))
        events = await client.until("response.done")
    assert "input_audio_buffer.speech_started" in _types(events)
    assert events[-1]["response"]["status"] == "completed"


async def test_function_call_round_trip(emulator: StartEmulator) -> None:
    """The model calls a tool (call_id, name, arguments); its output drives the next answer."""
    scenario = Scenario(
        rules=(
            Rule(
                caller=r"weather in (?P<city>\w+)",
                say="Let me check.",
                call=ToolCallSpec(name="get_weather", arguments={"city": "{city}"}),
            ),
            Rule(tool_result="get_weather", say="It is {result.temp} degrees in {result.city}."),
        )
    )
    server = await emulator(scenario)
    async with connect(server.url) as client:
        await client.update({"tools": [WEATHER]})
        await client.say_text("What's the weather in Paris?")
        first = await client.until("response.done")
        call = next(e for e in first if e["type"] == "response.function_call_arguments.done")
        assert call["name"] == "get_weather"
        assert json.loads(call["arguments"]) == {"city": "Paris"}
        deltas = [e for e in first if e["type"] == "response.function_call_arguments.delta"]
        assert "".join(e["delta"] for e in deltas) == call["arguments"]
        assert {e["call_id"] for e in deltas} == {call["call_id"]}
        output = first[-1]["response"]["output"]
        assert [i["type"] for i in output] == ["message", "function_call"]
        assert output[1]["call_id"] == call["call_id"] and output[1]["status"] == "completed"
        await client.send(
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "function_call_output",
                    "call_id": call["call_id"],
                    "output": json.dumps({"temp": 21, "city": "Paris"}),
                },
            }
        )
        await client.send({"type": "response.create"})
        second = await client.until("response.done")
    spoken = next(e for e in second if e["type"] == "response.output_audio_transcript.done")
    assert spoken["transcript"] == "It is 21 degrees in Paris."


async def test_function_output_for_an_unknown_call_is_refused(emulator: StartEmulator) -> None:
    """A function_call_output naming no call in the conversation gets invalid_tool_call_id."""
    server = await emulator()
    async with connect(server.url) as client:
        await client.send(
            {
                "type": "conversation.item.create",
                "item": {"type": "function_call_output", "call_id": "call_nope", "output": "{}"},
            }
        )
        error = (await client.expect("error"))["error"]
    assert error["code"] == "invalid_tool_call_id"
    assert error["message"] == "Tool call ID 'call_nope' not found in conversation."


async def test_response_overrides_and_out_of_band_responses(emulator: StartEmulator) -> None:
    """Per-response instructions, format and metadata apply to that response only;
    conversation none runs beside the default one and writes nothing to the conversation."""
    server = await emulator(Scenario(greeting=LONG), pace=SLOW)
    async with connect(server.url) as client:
        await client.send({"type": "response.create"})
        await client.until("response.created")
        await client.send(
            {
                "type": "response.create",
                "response": {
                    "conversation": "none",
                    "instructions": "Say exactly: Your code is ready.",
                    "metadata": {"purpose": "side"},
                    "output_modalities": ["text"],
                },
            }
        )
        events: list[dict[str, Any]] = []
        while sum(e["type"] == "response.done" for e in events) < 2:
            events.append(await client.recv())
    side = next(
        e["response"]
        for e in events
        if e["type"] == "response.done" and e["response"]["metadata"] == {"purpose": "side"}
    )
    assert side["conversation_id"] is None and side["output_modalities"] == ["text"]
    assert side["output"][0]["content"] == [{"type": "output_text", "text": "Your code is ready."}]
    side_items = {i["id"] for i in side["output"]}
    added = {e["item"]["id"] for e in events if e["type"] == "conversation.item.added"}
    assert not side_items & added
    history = [i.id for i in server.sessions[0].conversation.items]
    assert not side_items & set(history) and len(history) == 1


async def test_a_response_can_use_its_own_audio_format(emulator: StartEmulator) -> None:
    """audio.output.format on response.create changes this response's deltas only."""
    server = await emulator(Scenario(greeting="Hi there."))
    async with connect(server.url) as client:
        await client.send(
            {
                "type": "response.create",
                "response": {"audio": {"output": {"format": {"type": "audio/pcmu"}}}},
            }
        )
        events = await client.until("response.done")
    audio = b"".join(
        unb64(e["delta"]) for e in events if e["type"] == "response.output_audio.delta"
    )
    utterance_ms = events[-1]["response"]["usage"]["output_token_details"]["audio_tokens"] * 50
    assert abs(len(audio) / 8 - utterance_ms) <= 50  # 8 bytes per ms: G.711, not PCM16
    assert events[-1]["response"]["audio"]["output"]["format"] == {"type": "audio/pcmu"}


async def test_max_output_tokens_cuts_the_answer_short(emulator: StartEmulator) -> None:
    """An answer over max_output_tokens stops early with status incomplete."""
    server = await emulator(Scenario(greeting=LONG))
    async with connect(server.url) as client:
        await client.send({"type": "response.create", "response": {"max_output_tokens": 30}})
        response = (await client.until("response.done"))[-1]["response"]
    assert response["status"] == "incomplete"
    assert response["status_details"] == {"type": "incomplete", "reason": "max_output_tokens"}
    transcript = response["output"][0]["content"][0]["transcript"]
    assert transcript and LONG.startswith(transcript) and len(transcript) < len(LONG)


async def test_text_only_sessions_stream_output_text(emulator: StartEmulator) -> None:
    """output_modalities [text]: output_text deltas and done, no audio."""
    server = await emulator(Scenario(greeting="Hello there, text reader."))
    async with connect(server.url) as client:
        await client.update({"output_modalities": ["text"]})
        await client.send({"type": "response.create"})
        events = await client.until("response.done")
    kinds = _types(events)
    assert "response.output_audio.delta" not in kinds
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert text == "Hello there, text reader."
    assert kinds[-5:] == [
        "response.output_text.done",
        "response.content_part.done",
        "conversation.item.done",
        "response.output_item.done",
        "response.done",
    ]


async def test_a_slow_model_stalls_mid_response_until_cancelled(emulator: StartEmulator) -> None:
    """The stall fault stops audio after stall_after_ms; cancel still ends the response."""
    server = await emulator(Scenario(greeting=LONG), faults=Faults(stall_after_ms=400))
    async with connect(server.url) as client:
        await client.send({"type": "response.create"})
        events = await client.until("response.output_audio.delta")
        while sum(e["type"] == "response.output_audio.delta" for e in events) < 2:
            events.append(await client.recv())
        await client.update({})  # a round trip, time for more audio if any were coming
        await client.send({"type": "response.cancel"})
        done = (await client.until("response.done"))[-1]["response"]
    deltas = [e for e in client.events if e["type"] == "response.output_audio.delta"]
    assert len(deltas) == 2
    assert done["status"] == "cancelled"


async def _greet(client: RealtimeClient) -> list[dict[str, Any]]:
    await client.send({"type": "response.create"})
    return await client.until("response.done")


async def test_usage_and_rate_limits_are_plausible(emulator: StartEmulator) -> None:
    """Usage adds up; rate limits fall with each response; cached input grows."""
    server = await emulator()
    async with connect(server.url) as client:
        first, second = await _greet(client), await _greet(client)
    usage = second[-1]["response"]["usage"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert usage["output_token_details"]["audio_tokens"] > 0
    assert usage["input_tokens"] > first[-1]["response"]["usage"]["input_tokens"]
    limits = [e["rate_limits"] for e in first + second if e["type"] == "rate_limits.updated"]
    assert limits[1][0]["remaining"] == limits[0][0]["remaining"] - 1


async def test_silence_alone_does_not_trigger_anything(emulator: StartEmulator) -> None:
    """Digital silence never starts speech (energy below any threshold)."""
    server = await emulator()
    async with connect(server.url) as client:
        await client.update(PCMU_SESSION)
        await client.append(ulaw(silence(1000)))
        await client.update({})
    assert [e["type"] for e in client.events] == [
        "session.created",
        "session.updated",
        "session.updated",
    ]
