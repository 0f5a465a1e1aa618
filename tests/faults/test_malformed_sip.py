"""Malformed SIP at a real gateway: the corpus over UDP and TCP gets the answers RFC 3261 asks
for, the process survives all of it, every INVITE that reached the call layer leaves its record,
and a normal call right after works."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.harness import Stack, stack, wait_for
from tests.faults.sip_corpus import Case, Outcome, generated, hand_written, replay

GRAPH = """
name: faults
session: {audio_format: audio/pcmu}
phone: {greeting: "Hello, this is the test line."}
agents: [{name: desk, instructions: "Desk."}]
routes: {default: desk}
"""
SCENARIO = 'caller_transcripts: ["hello"]\nfallback: "Hi there."\n'

INVITE = Case(
    "invite.sip",
    b"INVITE sip:100@${GATEWAY} SIP/2.0\n"
    b"Via: SIP/2.0/${TRANSPORT} ${LOCAL};rport;branch=${BRANCH}\n"
    b"Max-Forwards: 70\n"
    b"From: <sip:quick@${LOCAL}>;tag=${TAG}\n"
    b"To: <sip:100@${GATEWAY}>\n"
    b"Call-ID: ${CALL_ID}\n"
    b"CSeq: 1 INVITE\n"
    b"Contact: <sip:quick@${LOCAL}>\n"
    b"Content-Type: application/sdp\n"
    b"Content-Length: ${BODY_LENGTH}\n\n"
    b"v=0\no=quick 1 1 IN IP4 127.0.0.1\ns=quick\nc=IN IP4 127.0.0.1\nt=0 0\n"
    b"m=audio 40000 RTP/AVP 0\na=rtpmap:0 PCMU/8000\n",
)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with stack(tmp_path_factory.mktemp("malformed")) as s:
        s.start_emulator(SCENARIO)
        s.start_gateway(GRAPH)
        yield s


def _expected(outcome: Outcome) -> Any:
    return outcome.case.expected[outcome.transport]


def _mismatches(outcomes: list[Outcome]) -> list[str]:
    wrong = []
    for o in outcomes:
        want = _expected(o)
        got = o.first_final if o.responses else "none"
        if want not in ("any", got):
            wrong.append(f"{o.transport} {o.case.name}: expected {want}, got {o.statuses}")
        if want == "any" and any(not 100 <= s < 700 for s in o.statuses):
            wrong.append(f"{o.transport} {o.case.name}: not a SIP response: {o.responses[:1]}")
    return wrong


def _expected_records(outcomes: list[Outcome]) -> dict[str, str]:
    """The record each replayed INVITE must leave, by its Call-ID."""
    records = {}
    for o in outcomes:
        cdr = o.case.expected.get("cdr")
        outcome = cdr.get(o.transport) if isinstance(cdr, dict) else cdr
        if outcome:
            records[o.call_id] = outcome
    return records


def _response(outcomes: list[Outcome], name: str, transport: str = "udp") -> str:
    (found,) = [o for o in outcomes if o.case.name == name and o.transport == transport]
    return found.responses[0].decode("latin-1")


def _problems(s: Stack) -> list[dict[str, Any]]:
    gateway = s.procs[-1]
    return [e for e in gateway.events() if e.get("level") in ("warning", "error", "critical")]


def test_corpus_gets_rfc_answers_and_the_gateway_survives(gateway: Stack) -> None:
    """Every hand-written case gets the answer in expected.yaml over UDP and over TCP (400 for
    what pjsip could not parse, 405/481/501 for methods nobody serves, 488/400/415 for offers
    it cannot take, nothing for what cannot be answered); 40 generated mutants get a SIP
    response or nothing. The process is still up and serving, nothing logged a warning, no call
    is left hanging, the records match the INVITEs case by case, and the log lines about the
    junk are rate-limited."""
    cases = hand_written()
    before = len(gateway.cdrs())
    outcomes = []
    for transport in ("udp", "tcp"):
        outcomes += replay([*cases, *generated()], transport, gateway.sip_port)
    assert _mismatches(outcomes) == []

    via = re.search(r"^Via: .*branch=(\S+)", _response(outcomes, "bad_cseq.sip"), re.M)
    assert via is not None and via[1].startswith("z9hG4bK-corpus-")  # echoed: the peer matches
    assert re.search(r"^To: .*;tag=\w+", _response(outcomes, "bad_cseq.sip"), re.M)
    missing = _response(outcomes, "missing_call_id.sip", "tcp")
    assert 'Warning: 399 voicegw "missing Call-ID"' in missing
    assert re.search(r"^Allow: .*INVITE", _response(outcomes, "register_to_gateway.sip"), re.M)

    proc = gateway.procs[-1]
    assert proc.popen.poll() is None
    wait_for(lambda: (gateway.ready() or {}).get("active_calls") == 0, 10, "no call left over")
    expected = _expected_records(outcomes)
    records = gateway.wait_cdrs(before + len(expected))[before:]
    got = {c["sip_call_id"]: c["outcome"] for c in records}
    names = {o.call_id: f"{o.transport} {o.case.name}" for o in outcomes}
    assert got == expected, sorted(names.get(k, k) for k in set(got) ^ set(expected))
    assert _problems(gateway) == []
    lines = [e for e in proc.events() if str(e.get("event")).startswith("sip_request_")]
    assert any(e["event"] == "sip_request_answered" and e["status"] == 400 for e in lines)
    per_second = Counter(e["timestamp"][:19] for e in lines)
    assert max(per_second.values()) <= 20  # 10 per (monotonic) second: a burst is not logged
    assert "Traceback" not in proc.text() and "Assertion" not in proc.text()


def test_a_normal_call_works_after_the_corpus(gateway: Stack) -> None:
    """After all that, the test caller's call is answered and hears the greeting, and its
    record says so."""
    summary = gateway.call("--duration", "3", transcript=False)
    assert summary["answered"] and summary["hangup_by"] == "local"
    assert summary["ms_to_first_audio"] is not None
    cdr = gateway.wait_cdrs(len(gateway.cdrs()))[-1]
    assert cdr["outcome"] == "caller_hangup" and cdr["errors"] == []
    assert cdr["counters"]["frames_out"] >= 50
    assert _problems(gateway) == []


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_callers_who_hang_up_right_after_the_ack_leave_no_call_behind(
    gateway: Stack, transport: str
) -> None:
    """Regression: a BYE right behind the ACK used to reach the call handler before it had
    recorded its 200, and the call was never ended (3 such calls filled the gateway for
    good). Three rounds of three such calls: all answered, all ended, nine records."""
    before = len(gateway.cdrs())
    for _ in range(3):
        outcomes = replay([INVITE] * 3, transport, gateway.sip_port, wait_s=1.0)
        assert [o.first_final for o in outcomes] == [200, 200, 200]
        wait_for(lambda: (gateway.ready() or {}).get("active_calls") == 0, 5, "calls ended")
    records = gateway.wait_cdrs(before + 9)[before:]
    assert [r["outcome"] for r in records] == ["caller_hangup"] * 9
    assert all(r["sip_codes"] == [180, 200] for r in records)


def test_corpus_files_all_have_expectations() -> None:
    """Each corpus file states its answer for both transports (so none is replayed blind)."""
    for case in hand_written():
        assert {"udp", "tcp"} <= set(case.expected), case.name
    assert len(hand_written()) >= 30
