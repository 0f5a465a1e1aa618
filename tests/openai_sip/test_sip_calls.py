"""The emulated call-control table (gateway/emulator/sip_calls.py), sans-I/O."""

from __future__ import annotations

import json

import pytest

from gateway.emulator.sip_calls import ApiError, CallOp, CallState, check_op, error_body

R, A, E = CallState.RINGING, CallState.ACCEPTED, CallState.ENDED
TABLE = {
    (R, CallOp.ACCEPT): A,
    (R, CallOp.REJECT): E,
    (R, CallOp.REFER): 409,
    (R, CallOp.HANGUP): E,
    (A, CallOp.ACCEPT): 409,
    (A, CallOp.REJECT): 409,
    (A, CallOp.REFER): A,
    (A, CallOp.HANGUP): E,
}


@pytest.mark.parametrize(("state", "op"), list(TABLE))
def test_each_request_in_each_live_state(state: CallState, op: CallOp) -> None:
    """The table in the module docstring, cell by cell."""
    outcome = check_op(state, op, "rtc_1")
    expected = TABLE[(state, op)]
    if isinstance(expected, int):
        assert isinstance(outcome, ApiError) and outcome.status == expected
        assert outcome.message == f"Cannot {op.value} call 'rtc_1': it is {state.value}."
    else:
        assert outcome is expected


@pytest.mark.parametrize("op", list(CallOp))
@pytest.mark.parametrize("state", [None, E])
def test_unknown_and_ended_calls_are_404(state: CallState | None, op: CallOp) -> None:
    """Whatever the request, a call that is unknown or over is 404 call_not_found."""
    outcome = check_op(state, op, "rtc_1")
    assert isinstance(outcome, ApiError) and (outcome.status, outcome.code) == (
        404,
        "call_not_found",
    )
    assert json.loads(error_body(outcome)) == {
        "error": {
            "message": "Call 'rtc_1' was not found.",
            "type": "invalid_request_error",
            "param": None,
            "code": "call_not_found",
        }
    }
