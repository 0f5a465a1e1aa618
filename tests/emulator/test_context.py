"""turn_for and token estimates: what the model answers and what it costs."""

from __future__ import annotations

from gateway.core.audio import AudioCodec
from gateway.emulator.context import RateLimits, input_tokens, transcription_usage, turn_for
from gateway.emulator.conversation import Item
from gateway.emulator.model import Turn
from gateway.emulator.response import ResponseSpec


def _user(item_id: str, text: str) -> Item:
    item = Item(id=item_id, type="message", role="user")
    item.content.append({"type": "input_text", "text": text})
    return item


def _assistant(item_id: str) -> Item:
    item = Item(id=item_id, type="message", role="assistant")
    item.content.append({"type": "output_audio", "transcript": "Hello."})
    return item


def test_turns() -> None:
    """Nothing yet: greeting; new user words: caller; after a tool call: its result."""
    assert turn_for([], set()) == Turn("greeting")
    assert turn_for([_assistant("a")], set()) == Turn("again")
    items = [_assistant("a"), _user("u1", "hello"), _user("u2", "there")]
    assert turn_for(items, set()) == Turn("caller", caller="hello there")
    assert turn_for(items, {"u2"}) == Turn("idle")
    call = Item(id="c", type="function_call", call_id="call_1", name="get_hours", arguments="{}")
    output = Item(id="o", type="function_call_output", call_id="call_1", output='{"open": 9}')
    assert turn_for([*items, call, output], set()) == Turn(
        "tool_result", tool="get_hours", result='{"open": 9}'
    )


def test_audio_turns_use_what_was_heard() -> None:
    """A user audio item answers with the recogniser's words."""
    item = Item(id="u", type="message", role="user", codec=AudioCodec.PCMU)
    item.content.append({"type": "input_audio", "transcript": None})
    item.audio += b"\xff" * 8000
    item.heard = "book a table"
    assert turn_for([item], set()) == Turn("caller", caller="book a table")
    tokens = input_tokens("", [item], 0)
    assert tokens.audio == 10 and tokens.total == 10 + 3


def test_cached_tokens_are_whole_blocks_of_the_previous_read() -> None:
    """Cached input is what the previous response read, in 64-token blocks."""
    tokens = input_tokens("x" * 1000, [], previous_total=200)
    assert tokens.total == 250 and tokens.cached == 192


def test_transcription_usage_by_model() -> None:
    """whisper-1 bills duration, the others tokens."""
    assert transcription_usage("whisper-1", 1500, "hi") == {"type": "duration", "seconds": 1.5}
    usage = transcription_usage("gpt-4o-mini-transcribe", 1600, "hello there")
    assert usage["input_tokens"] == 16 and usage["output_tokens"] == 3


def test_rate_limits_fall_per_response() -> None:
    """Each reservation takes one request and the tokens it may use."""
    spec = ResponseSpec(
        id="resp_1",
        conversation_id=None,
        modalities=("audio",),
        output_format={"type": "audio/pcmu"},
        codec=AudioCodec.PCMU,
        voice="marin",
        speed=1.0,
        max_output_tokens=100,
        metadata=None,
        input_tokens=50,
        input_audio_tokens=0,
        cached_tokens=0,
    )
    limits = RateLimits()
    first = limits.reserve(spec)
    second = limits.reserve(spec)
    assert first[0]["remaining"] - second[0]["remaining"] == 1
    assert first[1]["remaining"] - second[1]["remaining"] == 150
