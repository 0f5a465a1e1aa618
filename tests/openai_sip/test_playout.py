"""The SIP session's server-owned output buffer, sans-I/O (gateway/emulator/playout.py)."""

from __future__ import annotations

import base64
from typing import Any

from gateway.core.audio import AudioCodec
from gateway.emulator.conversation import Conversation, Item
from gateway.emulator.events import Ids
from gateway.emulator.playout import ServerPlayout
from gateway.emulator.voice import WordMark
from tests.realtime_contract import assert_ga_server_event

PCMU = AudioCodec.PCMU


def _delta(response: str, item: str, ms: int) -> dict[str, Any]:
    audio = base64.b64encode(bytes(ms * 8)).decode()
    return {
        "type": "response.output_audio.delta",
        "event_id": "e",
        "response_id": response,
        "item_id": item,
        "output_index": 0,
        "content_index": 0,
        "delta": audio,
    }


def _done(response: str) -> dict[str, Any]:
    return {"type": "response.done", "event_id": "e", "response": {"id": response}}


def _types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def _playout() -> tuple[ServerPlayout, Conversation]:
    conversation = Conversation()
    item = Item(id="item_a", type="message", role="assistant")
    item.content.append({"type": "output_audio", "transcript": "one two"})
    item.codec, item.audio = PCMU, bytearray(1000 * 8)
    item.words = [WordMark("one", 0), WordMark(" two", 600)]
    conversation.append(item)
    return ServerPlayout(Ids(1), conversation), conversation


def test_started_follows_the_first_delta_and_stopped_waits_for_playback() -> None:
    """started comes right after the first audio; stopped only once the response is done and
    its audio has played in real time (here 1 s of audio generated at t=0)."""
    playout, _ = _playout()
    out = playout.observe(
        [_delta("resp_1", "item_a", 500), _delta("resp_1", "item_a", 500)], 0.0, PCMU
    )
    assert _types(out) == [
        "response.output_audio.delta",
        "output_audio_buffer.started",
        "response.output_audio.delta",
    ]
    assert playout.playing and playout.deadline is None  # the response may add more
    playout.observe([_done("resp_1")], 0.1, PCMU)
    assert playout.deadline == 1.0
    assert playout.due(0.99) == []
    (stopped,) = playout.due(1.0)
    assert stopped["type"] == "output_audio_buffer.stopped" and stopped["response_id"] == "resp_1"
    assert_ga_server_event(out[1])
    assert_ga_server_event(stopped)
    assert not playout.playing and playout.due(5.0) == []


def test_clear_truncates_at_what_was_heard_then_reports_cleared() -> None:
    """A clear 0.4 s into 1 s of audio truncates the item at 400 ms (its transcript deleted, as
    any truncate does) and sends cleared; nothing more is due afterwards."""
    playout, conversation = _playout()
    playout.observe([_delta("resp_1", "item_a", 1000), _done("resp_1")], 0.0, PCMU)
    truncated, cleared = playout.clear(0.4)
    assert truncated == {
        "type": "conversation.item.truncated",
        "event_id": truncated["event_id"],
        "item_id": "item_a",
        "content_index": 0,
        "audio_end_ms": 400,
    }
    assert cleared["type"] == "output_audio_buffer.cleared"
    assert_ga_server_event(truncated)
    assert_ga_server_event(cleared)
    item = conversation.get("item_a")
    assert item is not None and item.content[0]["transcript"] == ""
    assert playout.due(2.0) == [] and playout.clear(2.0) == []


def test_audio_queues_behind_what_is_playing() -> None:
    """A second response's audio plays after the first's: stopped comes at the sum of both."""
    playout, _ = _playout()
    playout.observe([_delta("resp_1", "item_a", 500), _done("resp_1")], 0.0, PCMU)
    out = playout.observe([_delta("resp_2", "item_b", 500)], 0.2, PCMU)
    assert _types(out) == ["response.output_audio.delta"]  # still playing: no second started
    playout.observe([_done("resp_2")], 0.3, PCMU)
    assert playout.deadline == 1.0
    assert playout.due(1.0)[0]["response_id"] == "resp_2"


def test_fully_played_audio_is_not_truncated() -> None:
    """Clearing after an item has played in full (a later one still playing) leaves it whole."""
    playout, conversation = _playout()
    playout.observe([_delta("resp_1", "item_a", 200), _delta("resp_1", "item_x", 800)], 0.0, PCMU)
    out = playout.clear(0.5)
    assert _types(out) == ["output_audio_buffer.cleared"]  # item_x is not in the conversation
    item = conversation.get("item_a")
    assert item is not None and len(item.audio) == 8000
