"""Conversation items over loopback: create with previous_item_id, delete, retrieve, truncate."""

from __future__ import annotations

import math
from typing import Any

import pytest

from gateway.core.audio import AudioCodec
from gateway.emulator import Faults, Scenario
from gateway.emulator.conversation import Conversation, Item
from gateway.emulator.schema import ClientEventError
from gateway.emulator.voice import WordMark
from tests.emulator.client import PCMU_SESSION, RealtimeClient, b64, connect, unb64
from tests.emulator.conftest import StartEmulator

SENTENCE = "One two three four five six seven eight nine ten."
INSTRUCTIONS = "Answer briefly."


def _message(text: str, role: str = "user", item_id: str | None = None) -> dict[str, Any]:
    kind = "output_text" if role == "assistant" else "input_text"
    item: dict[str, Any] = {
        "type": "message",
        "role": role,
        "content": [{"type": kind, "text": text}],
    }
    if item_id is not None:
        item["id"] = item_id
    return item


async def _create(client: RealtimeClient, item: dict[str, Any], **extra: Any) -> dict[str, Any]:
    await client.send({"type": "conversation.item.create", "item": item, **extra})
    added = await client.recv()
    if added["type"] == "conversation.item.added":
        assert (await client.expect("conversation.item.done"))["item"] == added["item"]
    return added


async def test_items_are_placed_by_previous_item_id(emulator: StartEmulator) -> None:
    """Append, insert after an id, insert at root; each echo names the item before it."""
    server = await emulator()
    async with connect(server.url) as client:
        a = await _create(client, _message("a", item_id="item_a"))
        b = await _create(client, _message("b", item_id="item_b"))
        c = await _create(client, _message("c", "system", "item_c"), previous_item_id="item_a")
        d = await _create(client, _message("d", "assistant", "item_d"), previous_item_id="root")
        missing = await _create(
            client, _message("e"), previous_item_id="item_zz", event_id="evt_prev"
        )
    assert a["previous_item_id"] is None and b["previous_item_id"] == "item_a"
    assert c["previous_item_id"] == "item_a" and d["previous_item_id"] is None
    assert d["item"]["content"] == [{"type": "output_text", "text": "d"}]
    assert missing["type"] == "error"
    assert missing["error"]["param"] == "previous_item_id"
    assert missing["error"]["event_id"] == "evt_prev"
    order = [i.id for i in server.sessions[0].conversation.items]
    assert order == ["item_d", "item_a", "item_c", "item_b"]


async def test_delete_and_retrieve(emulator: StartEmulator) -> None:
    """Retrieve returns the item, delete removes it; unknown ids get the API's codes."""
    server = await emulator()
    async with connect(server.url) as client:
        await _create(client, _message("keep me", item_id="item_k"))
        await client.send({"type": "conversation.item.retrieve", "item_id": "item_k"})
        item = (await client.expect("conversation.item.retrieved"))["item"]
        assert item["content"] == [{"type": "input_text", "text": "keep me"}]
        await client.send({"type": "conversation.item.delete", "item_id": "item_k"})
        assert (await client.expect("conversation.item.deleted"))["item_id"] == "item_k"
        await client.send({"type": "conversation.item.delete", "item_id": "item_k"})
        deleted = (await client.expect("error"))["error"]
        await client.send({"type": "conversation.item.retrieve", "item_id": "item_k"})
        retrieved = (await client.expect("error"))["error"]
    assert deleted["code"] == "item_delete_invalid_item_id"
    assert deleted["message"] == "Error deleting item: the item with id 'item_k' does not exist."
    assert retrieved["code"] == "item_retrieve_invalid_item_id"
    assert server.sessions[0].conversation.items == ()


async def test_an_item_id_cannot_be_used_twice(emulator: StartEmulator) -> None:
    """Creating an item with an id already present is refused."""
    server = await emulator()
    async with connect(server.url) as client:
        await _create(client, _message("x", item_id="item_same"))
        again = await _create(client, _message("y", item_id="item_same"))
    assert again["type"] == "error" and again["error"]["param"] == "item.id"


async def test_assistant_audio_parts_need_text(emulator: StartEmulator) -> None:
    """An assistant output_audio part without text is refused as the API refuses it."""
    server = await emulator()
    async with connect(server.url) as client:
        await client.send(
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_audio", "transcript": "hi"}],
                },
            }
        )
        error = (await client.expect("error"))["error"]
    assert error["message"] == "Missing required parameter: 'item.content[0].text'."


async def _truncate(client: RealtimeClient, item_id: str, ms: int, **extra: Any) -> None:
    await client.send(
        {
            "type": "conversation.item.truncate",
            **extra,
            "item_id": item_id,
            "content_index": 0,
            "audio_end_ms": ms,
        }
    )


async def _spoken(client: RealtimeClient) -> tuple[str, int]:
    await client.update(PCMU_SESSION)
    await client.send({"type": "response.create"})
    events = await client.until("response.done")
    audio = b"".join(
        unb64(e["delta"]) for e in events if e["type"] == "response.output_audio.delta"
    )
    return events[-1]["response"]["output"][0]["id"], math.ceil(len(audio) / 8)


async def test_truncate_cuts_audio_and_deletes_the_transcript(emulator: StartEmulator) -> None:
    """conversation.item.truncated echoes the request; the item keeps the audio heard and no
    transcript (the API deletes it), and the next response reads no text from it."""
    server = await emulator(Scenario(greeting=SENTENCE))
    async with connect(server.url) as client:
        await client.update({"instructions": INSTRUCTIONS})
        item_id, _ = await _spoken(client)
        await _truncate(client, item_id, 1000)
        truncated = await client.expect("conversation.item.truncated")
        await client.send({"type": "conversation.item.retrieve", "item_id": item_id})
        item = (await client.expect("conversation.item.retrieved"))["item"]
        await client.send({"type": "response.create"})
        usage = (await client.until("response.done"))[-1]["response"]["usage"]
    assert truncated["item_id"] == item_id
    assert truncated["content_index"] == 0 and truncated["audio_end_ms"] == 1000
    part = item["content"][0]
    assert part["type"] == "output_audio" and part["transcript"] == ""
    assert len(unb64(part["audio"])) == 8000
    # only the instructions are text now: the heard words are not in the context either
    assert usage["input_token_details"]["text_tokens"] == math.ceil(len(INSTRUCTIONS) / 4)


async def test_an_item_truncated_while_still_spoken_gets_no_transcript_or_audio_later(
    emulator: StartEmulator,
) -> None:
    """A truncate while the response is still producing the item (stalled at 400 ms): the rest
    of the response finishes, but the item keeps neither the later audio nor any transcript."""
    server = await emulator(
        Scenario(greeting=SENTENCE), faults=Faults(stall_after_ms=400, stall_for_ms=300)
    )
    async with connect(server.url) as client:
        await client.update(PCMU_SESSION)
        await client.send({"type": "response.create"})
        started = await client.until("response.output_audio.delta")
        item_id = started[-1]["item_id"]
        await _truncate(client, item_id, 200)
        events = await client.until("response.done")
        await client.send({"type": "conversation.item.retrieve", "item_id": item_id})
        item = (await client.expect("conversation.item.retrieved"))["item"]
    assert "response.done" not in [e["type"] for e in started]
    assert "conversation.item.truncated" in [e["type"] for e in events]
    spoken = next(e for e in events if e["type"] == "response.output_audio_transcript.done")
    assert spoken["transcript"] == SENTENCE  # what the model produced is still reported
    assert events[-1]["response"]["output"][0]["content"][0]["transcript"] == ""
    part = item["content"][0]
    assert part["transcript"] == "" and len(unb64(part["audio"])) == 200 * 8


async def test_truncate_past_the_end_and_of_non_audio_items_are_errors(
    emulator: StartEmulator,
) -> None:
    """Overshoot: 'Audio content of Nms is already shorter than Mms'; text items: 'Only model
    output audio messages can be truncated'."""
    server = await emulator(Scenario(greeting=SENTENCE))
    async with connect(server.url) as client:
        item_id, duration = await _spoken(client)
        await _truncate(client, item_id, 99999, event_id="evt_over")
        overshoot = (await client.expect("error"))["error"]
        await _create(client, _message("typed", item_id="item_text"))
        await _truncate(client, "item_text", 0)
        not_audio = (await client.expect("error"))["error"]
    assert overshoot == {
        "type": "invalid_request_error",
        "code": "invalid_value",
        "message": f"Audio content of {duration}ms is already shorter than 99999ms",
        "param": "audio_end_ms",
        "event_id": "evt_over",
    }
    assert not_audio["code"] == "unsupported_content_type"
    assert not_audio["message"] == "Only model output audio messages can be truncated"


def test_truncate_of_an_unknown_item_names_it() -> None:
    """item_truncate_invalid_item_id, with the id in the message."""
    with pytest.raises(ClientEventError, match="item with id 'item_x' does not exist") as caught:
        Conversation().truncate("item_x", 0, 0)
    assert caught.value.code == "item_truncate_invalid_item_id"


def test_truncate_at_the_exact_end_keeps_the_audio_but_not_the_transcript() -> None:
    """audio_end_ms equal to the duration is allowed and keeps all the audio; the transcript
    goes all the same (any truncate deletes it), and a later, shorter truncate cuts the audio."""
    conversation = Conversation()
    item = Item(id="item_1", type="message", role="assistant", codec=AudioCodec.PCMU)
    item.content.append({"type": "output_audio", "transcript": "a b"})
    item.audio += b"\xff" * 800
    item.words = [WordMark("a", 0), WordMark(" b", 60)]
    conversation.append(item)
    conversation.truncate("item_1", 0, 100)
    assert len(item.audio) == 800 and item.content[0]["transcript"] == ""
    assert item.text == ""
    conversation.truncate("item_1", 0, 60)
    assert item.content[0]["transcript"] == "" and item.audio_ms == 60


async def test_user_audio_items_can_be_created_with_their_audio(emulator: StartEmulator) -> None:
    """An input_audio part is kept (retrievable); bad base64 in it is an error, not a crash."""
    server = await emulator()
    async with connect(server.url) as client:
        await client.update(PCMU_SESSION)
        audio = b"\x7f" * 800
        item = {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_audio", "audio": b64(audio), "transcript": "hi"}],
        }
        added = await _create(client, {**item, "id": "item_audio"})
        assert added["item"]["content"] == [{"type": "input_audio", "transcript": "hi"}]
        await client.send({"type": "conversation.item.retrieve", "item_id": "item_audio"})
        retrieved = (await client.expect("conversation.item.retrieved"))["item"]
        assert unb64(retrieved["content"][0]["audio"]) == audio
        bad = {**item, "content": [{"type": "input_audio", "audio": "!!"}]}
        error = await _create(client, bad)
        assert error["type"] == "error" and error["error"]["code"] == "invalid_value"
