"""The GA contract checker itself: it accepts OpenAI's own examples and rejects beta shapes."""

from __future__ import annotations

import pytest

from tests.realtime_contract import assert_ga_client_event, assert_ga_server_event


def test_accepts_ga_session_update_and_rejects_beta_fields() -> None:
    """A GA session.update passes; the beta flat format field fails."""
    assert_ga_client_event(
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "audio": {"input": {"format": {"type": "audio/pcmu"}}},
            },
        }
    )
    with pytest.raises(AssertionError, match="unknown to the GA types"):
        assert_ga_client_event(
            {"type": "session.update", "session": {"type": "realtime", "voice": "alloy"}}
        )


def test_rejects_beta_event_names_and_unknown_server_fields() -> None:
    """response.audio.delta (beta) is not GA; an invented field on a GA event fails."""
    with pytest.raises(AssertionError, match="not a GA server event type"):
        assert_ga_server_event({"type": "response.audio.delta", "event_id": "e"})
    good = {
        "type": "response.output_audio.delta",
        "event_id": "event_1",
        "response_id": "resp_1",
        "item_id": "item_1",
        "output_index": 0,
        "content_index": 0,
        "delta": "AAAA",
    }
    assert_ga_server_event(good)
    with pytest.raises(AssertionError, match="unknown to the GA types"):
        assert_ga_server_event({**good, "sample_rate": 8000})


def test_missing_required_server_field_fails() -> None:
    """A server event missing a required field does not validate."""
    with pytest.raises(ValueError, match="item_id"):
        assert_ga_server_event(
            {"type": "input_audio_buffer.speech_started", "event_id": "e", "audio_start_ms": 0}
        )
