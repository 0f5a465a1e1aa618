"""SessionProtocol: response lifecycle, playout accounting and barge-in decisions (sans-I/O)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from gateway.core.audio import AudioCodec
from gateway.core.realtime import wire as w
from gateway.core.realtime.actions import (
    Action,
    AudioInterrupted,
    Deliver,
    FlushPlayout,
    FormatMismatch,
    PlayAudio,
    SendEvent,
)
from gateway.core.realtime.protocol import ResponseState, SessionProtocol
from gateway.core.realtime.wire_client import ResponseParams


def ev(kind: str, **fields: Any) -> w.ServerEvent:
    return w.parse_server_event(json.dumps({"type": kind, "event_id": "srv", **fields}))


def created(resp: str) -> w.ServerEvent:
    return ev("response.created", response={"id": resp, "status": "in_progress"})


def done(resp: str, status: str = "completed") -> w.ServerEvent:
    return ev("response.done", response={"id": resp, "status": status})


def audio(resp: str, item: str, nbytes: int) -> w.ServerEvent:
    payload = base64.b64encode(b"\xff" * nbytes).decode()
    return ev(
        "response.output_audio.delta",
        response_id=resp,
        item_id=item,
        output_index=0,
        content_index=0,
        delta=payload,
    )


def speech() -> w.ServerEvent:
    return ev("input_audio_buffer.speech_started", audio_start_ms=1200, item_id="user_1")


def error(code: str) -> w.ServerEvent:
    return ev("error", error={"type": "invalid_request_error", "code": code, "message": "m"})


def sent(actions: list[Action]) -> list[dict[str, Any]]:
    return [
        a.event.model_dump(mode="json", exclude_unset=True)
        for a in actions
        if isinstance(a, SendEvent)
    ]


def session_updated(interrupt: bool, fmt: str = "audio/pcmu") -> w.ServerEvent:
    turn = {"type": "server_vad", "interrupt_response": interrupt, "create_response": True}
    return ev(
        "session.updated",
        session={
            "type": "realtime",
            "audio": {
                "input": {"format": {"type": "audio/pcmu"}, "turn_detection": turn},
                "output": {"format": {"type": fmt}},
            },
        },
    )


@pytest.fixture
def proto() -> SessionProtocol:
    p = SessionProtocol(AudioCodec.PCMU)
    p.receive(session_updated(interrupt=True))
    return p


def test_one_response_at_a_time(proto: SessionProtocol) -> None:
    """A second request waits for response.done, then goes out; no active-response error."""
    assert sent(proto.request_response()) == [{"type": "response.create"}]
    assert proto.request_response(ResponseParams(instructions="later")) == []
    proto.receive(created("resp_1"))
    assert proto.request_response() == []
    assert proto.queued_requests == 2
    actions = proto.receive(done("resp_1"))
    assert sent(actions) == [{"type": "response.create", "response": {"instructions": "later"}}]
    assert proto.state is ResponseState.REQUESTED


def test_duplicate_default_requests_collapse(proto: SessionProtocol) -> None:
    """Two plain requests queued behind an active response become one response.create."""
    proto.request_response()
    proto.receive(created("resp_1"))
    proto.request_response()
    proto.request_response()
    assert proto.queued_requests == 1


def test_server_vad_race_requeues_our_request(proto: SessionProtocol) -> None:
    """If VAD started a response as ours went out, the error requeues ours; it is not surfaced."""
    proto.request_response(ResponseParams(instructions="tool result"))
    proto.receive(created("resp_vad"))
    assert proto.receive(error("conversation_already_has_active_response")) == []
    actions = proto.receive(done("resp_vad"))
    assert sent(actions) == [
        {"type": "response.create", "response": {"instructions": "tool result"}}
    ]


def test_cancel_race_error_is_swallowed(proto: SessionProtocol) -> None:
    """response_cancel_not_active is benign and not delivered; other errors are."""
    assert proto.receive(error("response_cancel_not_active")) == []
    (deliver,) = proto.receive(error("invalid_value"))
    assert isinstance(deliver, Deliver)


def test_audio_is_decoded_counted_and_played(proto: SessionProtocol) -> None:
    """Deltas become PlayAudio with the raw bytes, and the ledger counts them."""
    proto.receive(created("r1"))
    (play,) = proto.receive(audio("r1", "item_a", 480))
    assert isinstance(play, PlayAudio)
    assert (play.item_id, len(play.audio)) == ("item_a", 480)
    assert proto.ledger.received_ms("item_a") == 60


def test_barge_in_truncates_at_the_played_position(proto: SessionProtocol) -> None:
    """Speech mid-response: flush, then truncate at floor(played/8) ms; server cancels itself."""
    proto.receive(created("r1"))
    proto.receive(audio("r1", "item_a", 16000))  # 2 s received
    proto.sync_played({"item_a": 4000})
    first = proto.receive(speech())
    assert isinstance(first[0], FlushPlayout)
    actions = proto.playout_flushed({"item_a": 163})  # two more frames went out meanwhile
    assert sent(actions) == [
        {
            "type": "conversation.item.truncate",
            "item_id": "item_a",
            "content_index": 0,
            "audio_end_ms": 520,
        }
    ]
    assert AudioInterrupted("item_a", 520, "speech") in actions
    assert proto.receive(audio("r1", "item_a", 800)) == []  # late delta dropped


def test_barge_in_cancels_when_the_server_will_not() -> None:
    """With interrupt_response false we send response.cancel for the active response."""
    proto = SessionProtocol(AudioCodec.PCMU)
    proto.receive(session_updated(interrupt=False))
    proto.receive(created("r1"))
    proto.receive(audio("r1", "item_a", 800))
    proto.receive(speech())
    actions = proto.playout_flushed({"item_a": 400})
    assert sent(actions)[0] == {"type": "response.cancel", "response_id": "r1"}
    assert sent(actions)[1]["audio_end_ms"] == 50


def test_no_interrupt_when_the_agent_is_silent(proto: SessionProtocol) -> None:
    """Speech after the answer was fully played: no flush, no truncate, no cancel."""
    proto.receive(created("r1"))
    proto.receive(audio("r1", "item_a", 800))
    proto.receive(ev("response.output_audio.done", response_id="r1", item_id="item_a"))
    proto.receive(done("r1"))
    proto.sync_played({"item_a": 800})
    actions = proto.receive(speech())
    assert [type(a) for a in actions] == [Deliver]


def test_no_truncate_before_any_audio(proto: SessionProtocol) -> None:
    """Speech while a response is active but silent: flush, no truncate (server would refuse)."""
    proto.receive(created("r1"))
    assert isinstance(proto.receive(speech())[0], FlushPlayout)
    actions = proto.playout_flushed({})
    assert sent(actions) == []
    assert AudioInterrupted(None, None, "speech") in actions


def test_truncate_never_passes_what_was_received(proto: SessionProtocol) -> None:
    """Even if the player over-reports, the truncate is clamped to the received audio."""
    proto.receive(created("r1"))
    proto.receive(audio("r1", "item_a", 800))
    proto.receive(speech())
    actions = proto.playout_flushed({"item_a": 5000})
    assert sent(actions)[0]["audio_end_ms"] == 100


def test_fully_played_item_is_not_truncated_on_local_interrupt(proto: SessionProtocol) -> None:
    """An item played to the end (and done) gets no truncate; the active response is cancelled."""
    proto.receive(created("r1"))
    proto.receive(audio("r1", "item_a", 800))
    proto.receive(ev("response.output_audio.done", response_id="r1", item_id="item_a"))
    proto.sync_played({"item_a": 800})
    assert proto.interrupt("guardrail") == [FlushPlayout()]
    actions = proto.playout_flushed({})
    assert sent(actions) == [{"type": "response.cancel", "response_id": "r1"}]


def test_interrupt_before_response_created_cancels_it_on_arrival(proto: SessionProtocol) -> None:
    """A local interrupt while our request is in flight cancels that response when it appears."""
    proto.request_response()
    proto.interrupt("dtmf")
    proto.playout_flushed({})
    actions = proto.receive(created("r9"))
    assert sent(actions) == [{"type": "response.cancel", "response_id": "r9"}]
    assert proto.receive(audio("r9", "item_z", 160)) == []


def test_interrupt_with_nothing_playing_does_nothing(proto: SessionProtocol) -> None:
    """No response, no audio: interrupt returns no actions."""
    assert proto.interrupt() == []


def test_server_owned_playout_never_truncates() -> None:
    """On the SIP sideband the server owns playout: speech is only delivered."""
    proto = SessionProtocol(AudioCodec.PCMU, server_owns_playout=True)
    proto.receive(created("r1"))
    assert [type(a) for a in proto.receive(speech())] == [Deliver]


def test_session_updated_is_checked_against_what_we_asked() -> None:
    """A server that ignored our output format is reported (the PatterAI #154 pitfall)."""
    proto = SessionProtocol(AudioCodec.PCMU)
    proto.expect_session({"audio": {"output": {"format": {"type": "audio/pcmu"}}}})
    actions = proto.receive(session_updated(interrupt=True, fmt="audio/pcm"))
    assert FormatMismatch("audio.output.format", AudioCodec.PCMU, AudioCodec.PCM16) in actions


def test_reset_forgets_the_connection(proto: SessionProtocol) -> None:
    """After reset (reconnect) the protocol is idle with an empty ledger."""
    proto.receive(created("r1"))
    proto.receive(audio("r1", "a", 160))
    proto.reset()
    assert proto.state is ResponseState.IDLE
    assert len(proto.ledger) == 0
    assert proto.audible_item is None


def test_event_ids_are_unique() -> None:
    """Every event we send has a fresh event_id, for matching errors."""
    proto = SessionProtocol(AudioCodec.PCMU)
    ids = {proto.request_response()[0].event_id}  # type: ignore[union-attr]
    proto.receive(created("r1"))
    proto.receive(audio("r1", "a", 160))
    proto.interrupt()
    ids |= {a.event_id for a in proto.playout_flushed({}) if isinstance(a, SendEvent)}
    assert len(ids) == 3


def test_race_error_after_the_other_response_finished_resends_at_once(
    proto: SessionProtocol,
) -> None:
    """If the competing response is already done when the error lands, ours goes out again."""
    proto.request_response()
    proto.receive(created("resp_vad"))
    proto.receive(done("resp_vad"))
    assert sent(proto.receive(error("conversation_already_has_active_response"))) == [
        {"type": "response.create"}
    ]
