"""ResponseRun, sans-I/O: event order, pacing on an absolute timeline, cancel, tool calls."""

from __future__ import annotations

import base64
import json

import pytest

from gateway.core.audio import AudioCodec
from gateway.emulator.conversation import Conversation
from gateway.emulator.events import Ids
from gateway.emulator.model import Call, Say
from gateway.emulator.response import Pace, ResponseRun, ResponseSpec
from gateway.emulator.voice import SyntheticVoice
from tests.emulator.client import check_server_event

PACE = Pace(chunk_ms=200, gap_ms=20, latency_ms=100)


def _spec(**changes: object) -> ResponseSpec:
    fields: dict[str, object] = {
        "id": "resp_1",
        "conversation_id": "conv_1",
        "modalities": ("audio",),
        "output_format": {"type": "audio/pcmu"},
        "codec": AudioCodec.PCMU,
        "voice": "marin",
        "speed": 1.0,
        "max_output_tokens": "inf",
        "metadata": None,
        "input_tokens": 10,
        "input_audio_tokens": 0,
        "cached_tokens": 0,
    }
    fields.update(changes)
    return ResponseSpec(**fields)  # type: ignore[arg-type]


def _run(
    reply: tuple[Say | Call, ...], conversation: Conversation | None = None, **spec: object
) -> ResponseRun:
    return ResponseRun(
        _spec(**spec),
        reply,
        ids=Ids(1),
        conversation=conversation,
        voice=SyntheticVoice(),
        pace=PACE,
    )


def test_nothing_before_the_latency_then_chunks_every_gap() -> None:
    """First output at start + latency; then one 200 ms chunk per 20 ms; all GA-valid."""
    run = _run((Say("One two three four five six."),), Conversation())
    events = run.start(0.0)
    assert [e["type"] for e in events] == ["response.created"]
    assert run.deadline == 0.1 and run.advance(0.099) == []
    first = run.advance(0.1)
    assert [e["type"] for e in first][:4] == [
        "response.output_item.added",
        "conversation.item.added",
        "response.content_part.added",
        "response.output_audio_transcript.delta",
    ]
    assert first[-1]["type"] == "response.output_audio.delta"
    assert run.deadline == pytest.approx(0.12)
    rest = run.advance(10.0)
    for event in events + first + rest:
        check_server_event(event)
    deltas = [e for e in first + rest if e["type"] == "response.output_audio.delta"]
    audio = b"".join(base64.b64decode(e["delta"]) for e in deltas)
    assert run.audio_ms == len(audio) / 8
    assert len(deltas) == -(-len(audio) // 1600)
    assert rest[-1]["type"] == "response.done" and not run.active


def test_cancel_closes_the_open_part_and_keeps_what_was_said() -> None:
    """Cancelled mid-speech: incomplete item with the words sent so far; the script stops."""
    conversation = Conversation()
    run = _run(
        (Say("Alpha bravo charlie delta echo foxtrot golf hotel."), Call("x", "{}")), conversation
    )
    run.start(0.0)
    sent = run.advance(0.1)
    events = run.cancel(0.11, "turn_detected")
    for event in events:
        check_server_event(event)
    done = events[-1]["response"]
    assert done["status_details"] == {"type": "cancelled", "reason": "turn_detected"}
    assert len(done["output"]) == 1 and done["output"][0]["status"] == "incomplete"
    spoken = "".join(e["delta"] for e in sent if e["type"].endswith("transcript.delta"))
    assert done["output"][0]["content"][0]["transcript"] == spoken
    assert run.advance(99.0) == [] and run.cancel(99.0, "client_cancelled") == []
    assert conversation.items[0].status == "incomplete"


def test_a_tool_call_streams_its_arguments() -> None:
    """function_call item, argument deltas that add up, done with the name; no audio."""
    arguments = json.dumps({"city": "Paris", "unit": "celsius"})
    run = _run((Call("get_weather", arguments),), None)
    events = run.start(0.0) + run.advance(1.0)
    for event in events:
        check_server_event(event)
    kinds = [e["type"] for e in events]
    assert "conversation.item.added" not in kinds  # out of band: no conversation
    deltas = [e["delta"] for e in events if e["type"] == "response.function_call_arguments.delta"]
    assert "".join(deltas) == arguments
    done = next(e for e in events if e["type"] == "response.function_call_arguments.done")
    assert done["name"] == "get_weather" and done["call_id"].startswith("call_")
    assert events[-1]["response"]["conversation_id"] == "conv_1"
    assert events[-1]["response"]["output"][0]["arguments"] == arguments


def test_stall_stops_audio_for_a_while() -> None:
    """stall_after_ms pauses the stream for stall_for_ms, then it carries on."""
    run = _run(
        (Say("Alpha bravo charlie delta echo foxtrot golf hotel."),),
        None,
        stall_after_ms=400,
        stall_for_ms=1000,
    )
    run.start(0.0)
    early = run.advance(0.5)
    assert sum(e["type"] == "response.output_audio.delta" for e in early) == 2
    assert run.deadline is not None and run.deadline > 1.1
    late = run.advance(60.0)
    assert late[-1]["response"]["status"] == "completed"


def test_a_stall_without_end_has_no_deadline() -> None:
    """A stall with no stall_for_ms waits for a cancel: no deadline at all."""
    run = _run((Say("Alpha bravo charlie delta."),), None, stall_after_ms=0)
    run.start(0.0)
    run.advance(0.1)
    assert run.deadline is None and run.active
