"""What the emulated OpenAI side lets a REST call-control request do to a SIP call, as a table.

::

    state      accept     reject     refer      hangup
    ringing    accepted   ended      409        ended
    accepted   409        409        accepted   ended
    ended      404        404        404        404
    (unknown)  404        404        404        404

404 for an unknown or finished call is documented behaviour (a webhook retried after the caller
hung up gets it on accept). The 409s (accepting twice, rejecting an answered call, referring
before answer) are UNVERIFIED: OpenAI documents no answer for them; a conflict is the least
surprising. Error bodies have OpenAI's ``{"error": {message, type, param, code}}`` shape.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass

__all__ = ["ApiError", "CallOp", "CallState", "check_op", "error_body"]


class CallState(enum.Enum):
    RINGING = "ringing"
    ACCEPTED = "accepted"
    ENDED = "ended"


class CallOp(enum.Enum):
    ACCEPT = "accept"
    REJECT = "reject"
    REFER = "refer"
    HANGUP = "hangup"


S, Op = CallState, CallOp
_NEXT: dict[tuple[CallState, CallOp], CallState] = {
    (S.RINGING, Op.ACCEPT): S.ACCEPTED,
    (S.RINGING, Op.REJECT): S.ENDED,
    (S.RINGING, Op.HANGUP): S.ENDED,
    (S.ACCEPTED, Op.REFER): S.ACCEPTED,
    (S.ACCEPTED, Op.HANGUP): S.ENDED,
}


@dataclass(frozen=True, slots=True)
class ApiError:
    """A refused REST request: HTTP status and OpenAI's error fields."""

    status: int
    message: str
    code: str | None = None
    param: str | None = None
    type: str = "invalid_request_error"


def check_op(state: CallState | None, op: CallOp, call_id: str) -> CallState | ApiError:
    """The call's next state if ``op`` is allowed in ``state``, else the error to answer."""
    if state is None or state is CallState.ENDED:
        return ApiError(404, f"Call '{call_id}' was not found.", "call_not_found")
    nxt = _NEXT.get((state, op))
    if nxt is None:
        return ApiError(409, f"Cannot {op.value} call '{call_id}': it is {state.value}.")
    return nxt


def error_body(error: ApiError) -> bytes:
    fields = {"message": error.message, "type": error.type, "param": error.param}
    return json.dumps({"error": {**fields, "code": error.code}}).encode()
