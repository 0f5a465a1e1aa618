"""The life of one phone call as a table, and the record (CDR) it leaves.

::

    state       event               next        notes
    ringing     session_ready       answered    200 OK sent once the model is there
    ringing     session_failed      ended       480/503 + Retry-After
    ringing     rejected            ended       403 / 486 / 603 ...
    ringing     caller_cancelled    ended       CANCEL before answer
    answered    media_active        bridged     audio flows both ways
    answered    caller_hangup       ended
    answered    ending              ending
    bridged     ending              ending      end_call, transfer, max duration, no input
    bridged     caller_hangup       ended
    ending      caller_hangup       ended       (BYE crossed ours)
    ending      ended               ended
    *           failed              ended       any unrecoverable error

Anything else is a :class:`LocalProtocolError` naming the state and event. Times come in as
``now`` (seconds, any monotonic-consistent clock); the record keeps wall-clock ISO times given
by the caller of :meth:`CallRecord.to_cdr`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from gateway.errors import LocalProtocolError

__all__ = ["CallEvent", "CallRecord", "CallState", "CallStateMachine"]


class CallState(enum.Enum):
    RINGING = "ringing"
    ANSWERED = "answered"
    BRIDGED = "bridged"
    ENDING = "ending"
    ENDED = "ended"


class CallEvent(enum.Enum):
    SESSION_READY = "session_ready"
    SESSION_FAILED = "session_failed"
    REJECTED = "rejected"
    CALLER_CANCELLED = "caller_cancelled"
    MEDIA_ACTIVE = "media_active"
    CALLER_HANGUP = "caller_hangup"
    ENDING = "ending"
    ENDED = "ended"
    FAILED = "failed"


S, E = CallState, CallEvent
_TABLE: dict[tuple[CallState, CallEvent], CallState] = {
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


@dataclass
class CallRecord:
    """Everything the CDR says about a call; filled as the call goes."""

    call_id: str
    transport: str
    caller: str = ""
    dialed: str = ""
    sip_call_id: str = ""
    times: dict[str, float] = field(default_factory=dict)
    """Event name -> ``now`` when it happened (invite, answer, first_agent_audio, end ...)."""
    outcome: str = ""
    sip_codes: list[int] = field(default_factory=list)
    agents: list[str] = field(default_factory=list)
    tools: list[dict[str, Any]] = field(default_factory=list)
    transfer: dict[str, Any] | None = None
    usage: dict[str, int] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    interruptions: list[dict[str, Any]] = field(default_factory=list)
    """Barge-ins and other cuts: cause, item, and how much of it the caller heard."""
    errors: list[str] = field(default_factory=list)

    def mark(self, what: str, now: float) -> None:
        """Record the first time ``what`` happened."""
        self.times.setdefault(what, now)

    def count(self, what: str, n: int = 1) -> None:
        self.counters[what] = self.counters.get(what, 0) + n

    def agent(self, name: str) -> None:
        if not self.agents or self.agents[-1] != name:
            self.agents.append(name)

    def to_cdr(self, wall_at: dict[str, str]) -> dict[str, Any]:
        """The CDR line: ``wall_at`` maps each time name to its ISO wall-clock form."""
        base = self.times.get("invite")
        ms = (
            {k: round((v - base) * 1000) for k, v in self.times.items()} if base is not None else {}
        )
        answer = self.times.get("answer")
        end = self.times.get("end")
        return {
            "call_id": self.call_id,
            "transport": self.transport,
            "caller": self.caller,
            "dialed": self.dialed,
            "sip_call_id": self.sip_call_id,
            "times": wall_at,
            "ms_since_invite": ms,
            "talk_s": round(end - answer, 3) if answer is not None and end is not None else 0.0,
            "outcome": self.outcome,
            "sip_codes": self.sip_codes,
            "agents": self.agents,
            "tools": self.tools,
            "transfer": self.transfer,
            "usage": self.usage,
            "counters": self.counters,
            "interruptions": self.interruptions,
            "errors": self.errors,
        }


class CallStateMachine:
    """One call's state; :meth:`apply` moves it or raises naming the illegal move."""

    __slots__ = ("state",)

    def __init__(self) -> None:
        self.state = CallState.RINGING

    def apply(self, event: CallEvent) -> CallState:
        if event is CallEvent.FAILED:
            self.state = CallState.ENDED
            return self.state
        nxt = _TABLE.get((self.state, event))
        if nxt is None:
            raise LocalProtocolError(f"call is {self.state.value}: cannot take {event.value}")
        self.state = nxt
        return nxt

    def can(self, event: CallEvent) -> bool:
        return event is CallEvent.FAILED or (self.state, event) in _TABLE

    @property
    def ended(self) -> bool:
        return self.state is CallState.ENDED
