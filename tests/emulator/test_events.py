"""Ids look like the API's; the error event has the GA shape."""

from __future__ import annotations

import re

from gateway.emulator.events import Ids, error_event
from gateway.emulator.schema import ClientEventError
from tests.emulator.client import check_server_event


def test_ids_have_the_apis_shapes_and_repeat_with_a_seed() -> None:
    """event_/item_/resp_ + 21 alphanumerics, call_ + 16; a seed reproduces them."""
    ids = Ids(3)
    assert re.fullmatch(r"event_[A-Za-z0-9]{21}", ids.event())
    assert re.fullmatch(r"item_[A-Za-z0-9]{21}", ids.item())
    assert re.fullmatch(r"resp_[A-Za-z0-9]{21}", ids.response())
    assert re.fullmatch(r"call_[A-Za-z0-9]{16}", ids.call())
    assert Ids(3).event() == Ids(3).event() != Ids(4).event()


def test_error_event_shape() -> None:
    """type/code/message/param and the client's event_id, valid against the GA types."""
    event = error_event(Ids(1), ClientEventError("Nope.", code="c", param="p"), "evt_9")
    check_server_event(event)
    assert event["error"] == {
        "type": "invalid_request_error",
        "code": "c",
        "message": "Nope.",
        "param": "p",
        "event_id": "evt_9",
    }
