"""ConversationHistory: the conversation rebuilt from GA server events, its transcript, and the
items it replays (as GA ``conversation.item.create`` events) into a new session."""

from __future__ import annotations

import json
from typing import Any

from gateway.core.realtime import wire as w
from gateway.core.realtime.history import ConversationHistory, HistoryItem
from gateway.core.realtime.wire_client import ItemCreate, ItemDelete, encode_client_event
from tests.realtime_contract import assert_ga_client_event, assert_ga_server_event


def ev(kind: str, *, ga: bool = True, **fields: Any) -> w.ServerEvent:
    """A parsed server event; unless ``ga`` is false, the fixture is checked against GA types."""
    data = {"type": kind, "event_id": "srv", **fields}
    if ga:
        assert_ga_server_event(data)
    return w.parse_server_event(json.dumps(data))


def user_audio_added(item_id: str) -> w.ServerEvent:
    item = {
        "id": item_id,
        "type": "message",
        "role": "user",
        "status": "completed",
        "content": [{"type": "input_audio", "transcript": None}],
    }
    return ev("conversation.item.added", item=item, previous_item_id=None)


def transcribed(item_id: str, text: str) -> w.ServerEvent:
    return ev(
        "conversation.item.input_audio_transcription.completed",
        item_id=item_id,
        content_index=0,
        transcript=text,
        usage={"type": "duration", "seconds": 1.5},
    )


def assistant_added(item_id: str, resp: str = "resp_1") -> w.ServerEvent:
    item = {
        "id": item_id,
        "type": "message",
        "role": "assistant",
        "status": "in_progress",
        "content": [],
    }
    return ev("response.output_item.added", response_id=resp, output_index=0, item=item)


def assistant_done(item_id: str, transcript: str, resp: str = "resp_1") -> w.ServerEvent:
    item = {
        "id": item_id,
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_audio", "transcript": transcript}],
    }
    return ev("response.output_item.done", response_id=resp, output_index=0, item=item)


def transcript_delta(item_id: str, delta: str, resp: str = "resp_1") -> w.ServerEvent:
    return ev(
        "response.output_audio_transcript.delta",
        response_id=resp,
        item_id=item_id,
        output_index=0,
        content_index=0,
        delta=delta,
    )


def transcript_done(item_id: str, text: str, resp: str = "resp_1") -> w.ServerEvent:
    return ev(
        "response.output_audio_transcript.done",
        response_id=resp,
        item_id=item_id,
        output_index=0,
        content_index=0,
        transcript=text,
    )


def function_call_done(item_id: str, call_id: str, name: str, arguments: str) -> w.ServerEvent:
    item = {
        "id": item_id,
        "type": "function_call",
        "status": "completed",
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
    }
    return ev("response.output_item.done", response_id="resp_2", output_index=0, item=item)


def function_output_added(item_id: str, call_id: str, output: str) -> w.ServerEvent:
    item = {"id": item_id, "type": "function_call_output", "call_id": call_id, "output": output}
    return ev("conversation.item.added", item=item, previous_item_id=None)


def _conversation() -> ConversationHistory:
    """A user turn, a spoken answer, a tool call and its output, another answer."""
    history = ConversationHistory()
    history.agent = "billing"
    for event in (
        user_audio_added("item_u1"),
        transcribed("item_u1", "What is my balance?"),
        assistant_added("item_a1"),
        transcript_delta("item_a1", "Let me "),
        transcript_delta("item_a1", "check."),
        transcript_done("item_a1", "Let me check."),
        assistant_done("item_a1", "Let me check."),
        function_call_done("item_f1", "call_1", "get_balance", '{"account_number":"1001"}'),
        function_output_added("item_o1", "call_1", '{"balance":"42.10"}'),
        assistant_added("item_a2", "resp_3"),
        transcript_done("item_a2", "It is 42 pounds 10.", "resp_3"),
    ):
        history.apply(event)
    return history


def test_user_audio_item_takes_its_transcription() -> None:
    """A user audio item has no text until transcription completes; then it has the transcript."""
    history = ConversationHistory()
    assert history.apply(user_audio_added("item_u1")) is True
    item = history.get("item_u1")
    assert item is not None
    assert (item.role, item.kind, item.text, item.status) == ("user", "message", "", "completed")
    assert history.apply(transcribed("item_u1", "Hello there")) is True
    assert history.get("item_u1") == HistoryItem("item_u1", "user", "message", "Hello there")


def test_item_done_without_transcript_keeps_the_text() -> None:
    """A later ``conversation.item.done`` whose audio part has no transcript does not wipe it."""
    history = ConversationHistory()
    history.apply(user_audio_added("item_u1"))
    history.apply(transcribed("item_u1", "Hello there"))
    done_item = {
        "id": "item_u1",
        "type": "message",
        "role": "user",
        "status": "completed",
        "content": [{"type": "input_audio", "transcript": None}],
    }
    history.apply(ev("conversation.item.done", item=done_item))
    item = history.get("item_u1")
    assert item is not None and item.text == "Hello there"


def test_transcription_before_the_item_creates_a_user_message() -> None:
    """A transcript for an item not seen yet creates a user message holding it."""
    history = ConversationHistory()
    history.apply(transcribed("item_u9", "Anyone there?"))
    assert history.get("item_u9") == HistoryItem("item_u9", "user", "message", "Anyone there?")


def test_assistant_transcript_deltas_accumulate_and_done_replaces() -> None:
    """Deltas append to the assistant item's text; the done event sets the final text."""
    history = ConversationHistory()
    history.apply(assistant_added("item_a1"))
    history.apply(transcript_delta("item_a1", "Good "))
    history.apply(transcript_delta("item_a1", "morning"))
    item = history.get("item_a1")
    assert item is not None
    assert (item.role, item.text, item.status) == ("assistant", "Good morning", "in_progress")
    history.apply(transcript_done("item_a1", "Good morning!"))
    history.apply(assistant_done("item_a1", "Good morning!"))
    item = history.get("item_a1")
    assert item is not None
    assert (item.text, item.status) == ("Good morning!", "completed")


def test_text_deltas_and_done_set_text_too() -> None:
    """``response.output_text.*`` (text-only responses) fill the item like audio transcripts."""
    history = ConversationHistory()
    common: dict[str, Any] = {
        "response_id": "r",
        "item_id": "item_t",
        "output_index": 0,
        "content_index": 0,
    }
    history.apply(ev("response.output_text.delta", delta="Hi", **common))
    history.apply(ev("response.output_text.delta", delta=" you", **common))
    item = history.get("item_t")
    assert item is not None and (item.role, item.text) == ("assistant", "Hi you")
    history.apply(ev("response.output_text.done", text="Hi you.", **common))
    item = history.get("item_t")
    assert item is not None and item.text == "Hi you."


def test_assistant_items_are_stamped_with_the_speaking_agent() -> None:
    """New assistant items get the current agent; they keep it after a handoff changes it."""
    history = ConversationHistory()
    history.agent = "triage"
    history.apply(user_audio_added("item_u1"))
    history.apply(assistant_added("item_a1"))
    history.agent = "billing"
    history.apply(assistant_done("item_a1", "Putting you through."))
    history.apply(transcript_delta("item_a2", "Billing here."))
    assert [i.agent for i in history.items] == [None, "triage", "billing"]


def test_function_call_and_output_items() -> None:
    """A function call is the assistant's; its output is the tool's; both keep their fields."""
    history = _conversation()
    call = history.get("item_f1")
    output = history.get("item_o1")
    assert call is not None and output is not None
    assert (call.role, call.kind, call.name, call.call_id) == (
        "assistant",
        "function_call",
        "get_balance",
        "call_1",
    )
    assert call.arguments == '{"account_number":"1001"}'
    assert (output.role, output.kind, output.call_id, output.output) == (
        "tool",
        "function_call_output",
        "call_1",
        '{"balance":"42.10"}',
    )


def test_items_stay_in_arrival_order() -> None:
    """``items`` lists items in the order the server first announced them."""
    assert [i.item_id for i in _conversation().items] == [
        "item_u1",
        "item_a1",
        "item_f1",
        "item_o1",
        "item_a2",
    ]


def test_truncation_records_what_the_caller_heard() -> None:
    """A truncated item is marked ``truncated`` with ``audio_end_ms``; later upserts keep it."""
    history = _conversation()
    truncated = ev(
        "conversation.item.truncated", item_id="item_a2", content_index=0, audio_end_ms=1500
    )
    assert history.apply(truncated) is True
    item = history.get("item_a2")
    assert item is not None
    assert (item.status, item.audio_end_ms) == ("truncated", 1500)
    history.apply(assistant_added("item_a2", "resp_3"))
    item = history.get("item_a2")
    assert item is not None and item.audio_end_ms == 1500


def test_truncating_an_unknown_item_changes_nothing() -> None:
    """Truncation of an item the history never saw is ignored."""
    history = ConversationHistory()
    truncated = ev("conversation.item.truncated", item_id="nope", content_index=0, audio_end_ms=9)
    assert history.apply(truncated) is False
    assert history.items == []


def test_deleted_items_leave_the_history() -> None:
    """``conversation.item.deleted`` removes the item; deleting it again changes nothing."""
    history = _conversation()
    assert history.apply(ev("conversation.item.deleted", item_id="item_a1")) is True
    assert history.get("item_a1") is None
    assert "item_a1" not in [i.item_id for i in history.items]
    assert history.apply(ev("conversation.item.deleted", item_id="item_a1")) is False


def test_apply_reports_whether_anything_changed() -> None:
    """Unrelated events and exact repeats report no change."""
    history = ConversationHistory()
    speech = ev("input_audio_buffer.speech_started", audio_start_ms=100, item_id="item_u1")
    assert history.apply(speech) is False
    assert history.apply(user_audio_added("item_u1")) is True
    assert history.apply(user_audio_added("item_u1")) is False
    item_without_id = {"type": "message", "role": "user", "content": []}
    assert history.apply(ev("conversation.item.added", ga=False, item=item_without_id)) is False


def test_transcript_lists_messages_with_text() -> None:
    """``transcript()`` is (role, text) of messages with text, in order; tool items are left out."""
    history = _conversation()
    history.apply(user_audio_added("item_u2"))  # not transcribed: no text, not listed
    assert history.transcript() == [
        ("user", "What is my balance?"),
        ("assistant", "Let me check."),
        ("assistant", "It is 42 pounds 10."),
    ]


def test_replay_items_are_ga_item_create_payloads() -> None:
    """Every replayed item makes a GA-valid ``conversation.item.create``, as text, in order."""
    history = _conversation()
    history.add_local(HistoryItem("local_sys", "system", "message", "The caller is verified."))
    items = history.replay_items()
    for item in items:
        assert_ga_client_event(json.loads(encode_client_event(ItemCreate(item=item))))
    assert items == [
        {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "What is my balance?"}],
        },
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Let me check."}],
        },
        {
            "type": "function_call",
            "call_id": "call_1",
            "name": "get_balance",
            "arguments": '{"account_number":"1001"}',
        },
        {"type": "function_call_output", "call_id": "call_1", "output": '{"balance":"42.10"}'},
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "It is 42 pounds 10."}],
        },
        {
            "type": "message",
            "role": "system",
            "content": [{"type": "input_text", "text": "The caller is verified."}],
        },
    ]


def test_replay_skips_messages_without_text() -> None:
    """Audio the transcriber never transcribed cannot be replayed, so it is left out."""
    history = ConversationHistory()
    history.apply(user_audio_added("item_u1"))
    history.apply(assistant_added("item_a1"))
    assert history.replay_items() == []


def test_a_cut_item_replays_and_transcribes_only_what_was_heard() -> None:
    """After barge-in at 40 % of the audio, replay and transcript hold the heard words only."""
    history = ConversationHistory()
    history.add_local(
        HistoryItem("a1", "assistant", "message", text="one two three four five six seven eight")
    )
    history.cut("a1", 0.4)
    assert history.transcript() == [("assistant", "one two three…")]
    (item,) = history.replay_items()
    assert item["content"] == [{"type": "output_text", "text": "one two three…"}]
    assert_ga_client_event({"type": "conversation.item.create", "item": item})


def test_replay_events_keep_each_items_id() -> None:
    """After a reconnect every item is re-created under its own id (so the new session's
    item events update the history instead of duplicating it), each a GA-valid event."""
    history = _conversation()
    events = history.replay_events()
    assert [e.item["id"] for e in events] == ["item_u1", "item_a1", "item_f1", "item_o1", "item_a2"]
    for event in events:
        assert_ga_client_event(json.loads(encode_client_event(event)))
    assert [{k: v for k, v in e.item.items() if k != "id"} for e in events] == (
        history.replay_items()
    )


def test_sync_to_deletes_what_is_dropped_and_inserts_new_items_in_place() -> None:
    """Keep u1 and a2, drop a1/f1/o1, add a system note after u1: two kinds of events, the
    new item placed after the last kept one and recorded locally at once."""
    history = _conversation()
    current = {item.item_id: item for item in history.items}
    note = HistoryItem("local_note", "system", "message", "The caller is verified.")
    events = history.sync_to([current["item_u1"], note, current["item_a2"]])
    deletes = [e for e in events if isinstance(e, ItemDelete)]
    creates = [e for e in events if isinstance(e, ItemCreate)]
    assert [d.item_id for d in deletes] == ["item_a1", "item_f1", "item_o1"]
    assert len(creates) == 1
    assert creates[0].previous_item_id == "item_u1"
    assert creates[0].item["id"] == "local_note"
    assert history.get("local_note") == note
    for event in events:
        assert_ga_client_event(json.loads(encode_client_event(event)))
    assert history.sync_to(history.items[:1]) == [
        ItemDelete(item_id=i.item_id) for i in history.items[1:]
    ]
