"""The pure parts of the pjsip hooks: which status an unhandled request gets, the socket
addresses handed to pjsip, the rate limit on log lines about refused requests, and how refused
INVITEs are counted and handed on. (The hooks themselves run against a real gateway in
tests/faults/test_malformed_sip.py and tests/faults/test_flood.py.)"""

from __future__ import annotations

import socket
import struct

from gateway.adapters.sip.endpoint import RejectedCall
from gateway.adapters.sip.pjsip_ffi import sockaddr
from gateway.adapters.sip.pjsip_hooks import (
    HookEvent,
    RateLimitedLog,
    StackRefusals,
    _unhandled_status,
)


def test_unhandled_requests_get_481_405_or_501() -> None:
    """No dialog for BYE & co: 481; a method we know but do not serve: 405; else 501."""
    assert [_unhandled_status(m) for m in ("BYE", "CANCEL", "INFO", "NOTIFY", "REFER")] == [481] * 5
    assert [_unhandled_status(m) for m in ("REGISTER", "PUBLISH", "SUBSCRIBE")] == [405] * 3
    assert [_unhandled_status(m) for m in ("FOOBAR", "register", "")] == [501] * 3


def test_socket_addresses_have_the_linux_sockaddr_layout() -> None:
    """pj_sockaddr_in / _in6 are laid out as sockaddr_in / sockaddr_in6."""
    v4 = sockaddr("192.0.2.7", 5070)
    assert len(v4) == 16
    assert struct.unpack("=H", v4[:2])[0] == socket.AF_INET
    assert v4[2:4] == (5070).to_bytes(2, "big") and v4[4:8] == bytes([192, 0, 2, 7])
    v6 = sockaddr("2001:db8::1", 5061)
    assert len(v6) == 28
    assert struct.unpack("=H", v6[:2])[0] == socket.AF_INET6
    assert v6[8:24] == socket.inet_pton(socket.AF_INET6, "2001:db8::1")
    assert sockaddr("", 0)[4:8] == bytes(4)  # a stream reply: the address is not used


def test_log_lines_are_rate_limited_and_the_rest_counted() -> None:
    """25 events in one second: 10 lines; the next second's first line says 15 were held back;
    the counts keep everything."""
    limiter = RateLimitedLog(per_second=10)
    lines = [limiter.note("answered_400", {"status": 400}, 100.0 + i / 100) for i in range(25)]
    assert sum(line is not None for line in lines) == 10
    later = limiter.note("answered_400", {"status": 400, "detail": ""}, 101.5)
    assert later == {"status": 400, "suppressed": 15}
    assert limiter.counts == {"answered_400": 26}


def test_refusals_are_counted_and_refused_invites_handed_on_once() -> None:
    """Answered requests, pjsua's own INVITE refusals and the gate's are counted by kind and
    status; each refused INVITE reaches ``on_refused`` once (a retransmission, same Call-ID,
    is answered again but not recorded twice)."""
    handed: list[RejectedCall] = []
    refusals = StackRefusals(handed.append)
    refusals.request_event(HookEvent("answered", 400, "OPTIONS", "UDP"))
    refusals.request_event(HookEvent("unanswerable", 0, "", "", "no Via"))
    busy = RejectedCall(486, "Busy Here", "127.0.0.1:5070", "call-1")
    gated = RejectedCall(503, "capacity", "", "call-2", gated=True)
    for refused in (busy, gated, gated):
        refusals.invite_refused(refused)
    assert refusals.counts == {
        "answered_400": 1,
        "unanswerable": 1,
        "invite_refused_486": 1,
        "invite_gated_503": 1,
    }
    assert handed == [busy, gated]
