"""The call state table, its errors, and the call record (CDR) a call leaves."""

from __future__ import annotations

import itertools

import pytest

from gateway.core.call import CallEvent, CallRecord, CallState, CallStateMachine
from gateway.errors import LocalProtocolError

S, E = CallState, CallEvent

# The table from the module docstring, restated here so a change to either is noticed.
LEGAL = {
    (S.RINGING, E.SESSION_READY): S.ANSWERED,
    (S.RINGING, E.SESSION_FAILED): S.ENDED,
    (S.RINGING, E.REJECTED): S.ENDED,
    (S.RINGING, E.CALLER_CANCELLED): S.ENDED,
    (S.ANSWERED, E.MEDIA_ACTIVE): S.BRIDGED,
    (S.ANSWERED, E.CALLER_HANGUP): S.ENDED,
    (S.ANSWERED, E.ENDING): S.ENDING,
    (S.BRIDGED, E.ENDING): S.ENDING,
    (S.BRIDGED, E.CALLER_HANGUP): S.ENDED,
    (S.ENDING, E.CALLER_HANGUP): S.ENDED,
    (S.ENDING, E.ENDED): S.ENDED,
}

# A legal way to reach each state from a new call.
PATH = {
    S.RINGING: [],
    S.ANSWERED: [E.SESSION_READY],
    S.BRIDGED: [E.SESSION_READY, E.MEDIA_ACTIVE],
    S.ENDING: [E.SESSION_READY, E.MEDIA_ACTIVE, E.ENDING],
    S.ENDED: [E.REJECTED],
}

ILLEGAL = [
    (state, event)
    for state, event in itertools.product(CallState, CallEvent)
    if (state, event) not in LEGAL and event is not E.FAILED
]


def _machine_in(state: CallState) -> CallStateMachine:
    machine = CallStateMachine()
    for event in PATH[state]:
        machine.apply(event)
    assert machine.state is state
    return machine


def test_a_new_call_is_ringing() -> None:
    """A call starts ringing and not ended."""
    machine = CallStateMachine()
    assert machine.state is S.RINGING
    assert machine.ended is False


@pytest.mark.parametrize(("state", "event"), list(LEGAL), ids=lambda v: str(v.value))
def test_every_legal_transition(state: CallState, event: CallEvent) -> None:
    """Each row of the table moves the call to its next state and returns it."""
    machine = _machine_in(state)
    assert machine.can(event) is True
    assert machine.apply(event) is LEGAL[state, event]
    assert machine.state is LEGAL[state, event]
    assert machine.ended is (LEGAL[state, event] is S.ENDED)


@pytest.mark.parametrize(("state", "event"), ILLEGAL, ids=lambda v: str(v.value))
def test_illegal_moves_raise_naming_state_and_event(state: CallState, event: CallEvent) -> None:
    """Anything not in the table raises LocalProtocolError naming both, and changes nothing."""
    machine = _machine_in(state)
    assert machine.can(event) is False
    with pytest.raises(LocalProtocolError) as info:
        machine.apply(event)
    assert str(info.value) == f"call is {state.value}: cannot take {event.value}"
    assert machine.state is state


@pytest.mark.parametrize("state", list(CallState), ids=lambda s: s.value)
def test_failed_ends_the_call_from_any_state(state: CallState) -> None:
    """``failed`` is allowed everywhere (even when already ended) and always ends the call."""
    machine = _machine_in(state)
    assert machine.can(E.FAILED) is True
    assert machine.apply(E.FAILED) is S.ENDED
    assert machine.ended is True


def test_ended_is_final() -> None:
    """An ended call takes no event but ``failed``."""
    machine = _machine_in(S.ENDED)
    assert [e for e in CallEvent if machine.can(e)] == [E.FAILED]


def test_mark_keeps_the_first_time() -> None:
    """Marking an event again does not move its time."""
    record = CallRecord("c1", "sip")
    record.mark("answer", 12.0)
    record.mark("answer", 15.0)
    record.mark("end", 20.0)
    assert record.times == {"answer": 12.0, "end": 20.0}


def test_count_and_agent_history() -> None:
    """Counters add up; the agent list records changes, not repeats."""
    record = CallRecord("c1", "sip")
    record.count("barge_in")
    record.count("barge_in", 2)
    for name in ("triage", "triage", "billing", "triage"):
        record.agent(name)
    assert record.counters == {"barge_in": 3}
    assert record.agents == ["triage", "billing", "triage"]


def test_to_cdr_fields() -> None:
    """The CDR has milliseconds since the INVITE, talk time from answer to end, and the record."""
    record = CallRecord(
        "c1", "sip", caller="+441234", dialed="100", sip_call_id="abc@pbx", outcome="completed"
    )
    record.mark("invite", 100.0)
    record.mark("answer", 100.2504)
    record.mark("first_agent_audio", 101.0)
    record.mark("end", 130.75)
    record.sip_codes.append(200)
    record.tools.append({"name": "get_balance", "ok": True})
    record.usage["total_tokens"] = 1200
    record.errors.append("tool_timed_out")
    record.transfer = {"target": "billing_queue"}
    wall = {"invite": "2025-01-06T09:30:00.000+00:00"}
    cdr = record.to_cdr(wall)
    assert cdr == {
        "call_id": "c1",
        "transport": "sip",
        "caller": "+441234",
        "dialed": "100",
        "sip_call_id": "abc@pbx",
        "times": wall,
        "ms_since_invite": {"invite": 0, "answer": 250, "first_agent_audio": 1000, "end": 30750},
        "talk_s": 30.5,
        "outcome": "completed",
        "sip_codes": [200],
        "agents": [],
        "tools": [{"name": "get_balance", "ok": True}],
        "transfer": {"target": "billing_queue"},
        "usage": {"total_tokens": 1200},
        "counters": {},
        "interruptions": [],
        "errors": ["tool_timed_out"],
    }


def test_talk_time_is_zero_for_unanswered_calls() -> None:
    """Without both an answer and an end there was no talk time."""
    rejected = CallRecord("c2", "sip")
    rejected.mark("invite", 5.0)
    rejected.mark("end", 5.1)
    assert rejected.to_cdr({})["talk_s"] == 0.0
    still_up = CallRecord("c3", "sip")
    still_up.mark("invite", 5.0)
    still_up.mark("answer", 6.0)
    assert still_up.to_cdr({})["talk_s"] == 0.0
