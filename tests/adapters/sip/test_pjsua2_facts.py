"""Facts about the installed pjsua2 build that the SIP adapter relies on, proven on the wire.

Each test runs real probe processes (their own pjsua2 endpoint each) and, where the exact bytes
matter, a hand-written SIP peer (tests/adapters/sip/rawsip.py). docs/pjsua2-notes.md cites them.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.adapters.sip.conftest import Peers
from tests.adapters.sip.rawsip import (
    RawSip,
    auth_params,
    digest_response,
    sdp_payload_types,
    sdp_rtpmap,
)
from tests.conftest import require_tool


@pytest.fixture
def raw() -> Iterator[RawSip]:
    """A hand-written SIP peer on a free loopback UDP port."""
    peer = RawSip()
    yield peer
    peer.close()


async def test_reject_with_503_and_retry_after(peers: Peers, raw: RawSip) -> None:
    """answer(503) with a Retry-After SipHeader in txOption puts both on the wire."""
    gw = await peers.start("answer", "--reject", "503", "--retry-after", "30")
    dialog = raw.invite(gw.port)
    final = await asyncio.to_thread(raw.final_response, dialog)
    raw.ack(dialog, gw.port)
    assert final.status == 503
    assert final.header("retry-after") == "30"
    assert await gw.finish() == 0, gw.output()


async def test_unknown_source_gets_403(peers: Peers, raw: RawSip) -> None:
    """The INVITE's source address (rdata.srcAddress) decides; a stranger gets 403."""
    gw = await peers.start("answer", "--allow-source", "192.0.2.10")
    dialog = raw.invite(gw.port)
    final = await asyncio.to_thread(raw.final_response, dialog)
    raw.ack(dialog, gw.port)
    assert final.status == 403
    assert (await gw.expect("incoming"))["source"] == f"127.0.0.1:{raw.port}"


async def test_incoming_invite_exposes_request_uri_from_and_to(peers: Peers, raw: RawSip) -> None:
    """rdata.wholeMsg carries the Request-URI, From and To; rdata.srcAddress the sender."""
    gw = await peers.start("answer", "--reject", "486")
    dialog = raw.invite(gw.port, user="+442079460000", from_user="+15551234567")
    await asyncio.to_thread(raw.final_response, dialog)
    raw.ack(dialog, gw.port)
    incoming = await gw.expect("incoming")
    assert incoming["request_uri"] == f"sip:+442079460000@127.0.0.1:{gw.port}"
    assert incoming["from"].startswith(f"<sip:+15551234567@127.0.0.1:{raw.port}>")
    assert incoming["to"] == f"<sip:+442079460000@127.0.0.1:{gw.port}>"
    assert incoming["source"] == f"127.0.0.1:{raw.port}"


async def test_180_first_then_200_later(peers: Peers, raw: RawSip) -> None:
    """answer(180) then, 400 ms later from another thread, answer(200): both reach the wire."""
    gw = await peers.start("answer", "--ring-ms", "400", "--calls", "1")
    dialog = raw.invite(gw.port)
    started = time.monotonic()
    final = await asyncio.to_thread(raw.final_response, dialog)
    raw.ack(dialog, gw.port)
    codes = [r.status for r in dialog.responses]
    assert codes == [100, 180, 200]
    assert time.monotonic() - started >= 0.35
    assert final.header("content-type") == "application/sdp"
    await asyncio.to_thread(raw.bye, dialog, gw.port)
    assert await gw.finish() == 0, gw.output()


async def test_max_calls_above_four_is_clamped_to_four(peers: Peers, raw: RawSip) -> None:
    """uaConfig.maxCalls=8 is accepted but a 5th concurrent INVITE still gets 486 from pjsua."""
    gw = await peers.start("answer", "--max-calls", "8", "--calls", "99")
    statuses = []
    for n in range(5):
        dialog = raw.invite(gw.port, user=f"line{n}")
        final = await asyncio.to_thread(raw.final_response, dialog)
        raw.ack(dialog, gw.port)
        statuses.append(final.status)
    assert statuses == [200, 200, 200, 200, 486]
    gw.proc.kill()
    await gw.finish()
    assert len(gw.all("incoming")) == 4  # the 5th never reached onIncomingCall


async def test_offer_lists_pcmu_pcma_g722_only(peers: Peers, raw: RawSip) -> None:
    """Codec priorities make the offer PCMU, PCMA, G722 (+ telephone-event), nothing else."""
    caller = await peers.start("call", "--to", f"sip:callee@127.0.0.1:{raw.port}")
    invite = await asyncio.to_thread(raw.answer_next_invite, 486)
    rtpmap = sdp_rtpmap(invite.body)
    offered = [rtpmap.get(pt, pt) for pt in sdp_payload_types(invite.body)]
    assert offered[:3] == ["PCMU/8000", "PCMA/8000", "G722/8000"]
    assert all(name.startswith("telephone-event/") for name in offered[3:])
    assert caller.first("ready")["codecs"] == ["PCMU/8000/1", "PCMA/8000/1", "G722/16000/1"]


async def test_answer_follows_the_offerers_codec_order(peers: Peers, raw: RawSip) -> None:
    """Offered PCMA before PCMU, pjsua answers PCMA: the offerer's order wins, not ours."""
    gw = await peers.start("answer")
    dialog = raw.invite(gw.port, payload_types="8 0 101")
    final = await asyncio.to_thread(raw.final_response, dialog)
    raw.ack(dialog, gw.port)
    await asyncio.to_thread(raw.bye, dialog, gw.port)
    assert sdp_payload_types(final.body)[0] == "8"


@pytest.mark.parametrize(("method", "digits"), [("rfc4733", "1#5"), ("info", "29*")])
async def test_dtmf_arrives_through_on_dtmf_digit(peers: Peers, method: str, digits: str) -> None:
    """RFC 4733 events and SIP INFO (application/dtmf-relay) both reach onDtmfDigit."""
    gw = await peers.start("answer")
    caller = await peers.start(
        "call", "--to", f"sip:gw@127.0.0.1:{gw.port}", "--dtmf", digits,
        "--dtmf-method", method, "--seconds", "1.0",
    )  # fmt: skip
    assert await caller.finish() == 0
    await gw.finish()
    received = gw.all("dtmf")
    assert "".join(e["digit"] for e in received) == digits
    assert {e["method"] for e in received} == {method}
    assert gw.first("result")["threads"]["dtmf"] == ["pjsua-poll"]


async def test_g722_call_through_the_8khz_bridge(peers: Peers) -> None:
    """G.722 is in the build; a G.722 call still carries the tone through the 8 kHz port."""
    gw = await peers.start("answer", "--tone", "440")
    caller = await peers.start(
        "call", "--to", f"sip:gw@127.0.0.1:{gw.port}", "--codec", "G722/16000/1",
        "--expect", "440", "--seconds", "1.0",
    )  # fmt: skip
    assert await caller.finish() == 0
    await gw.finish()
    assert caller.first("media_active")["codec"] == "G722"
    assert caller.first("result")["rx"]["share"]["440"] > 0.5


async def test_srtp_call_carries_audio(peers: Peers) -> None:
    """SRTP (SDES, mandatory) is in the build: the call is encrypted and audio still crosses."""
    gw = await peers.start("answer", "--srtp", "--tone", "440")
    caller = await peers.start(
        "call", "--to", f"sip:gw@127.0.0.1:{gw.port}", "--srtp", "--expect", "440",
        "--seconds", "1.0",
    )  # fmt: skip
    assert await caller.finish() == 0
    await gw.finish()
    assert caller.first("media_active")["srtp"] is True
    assert gw.first("media_active")["srtp"] is True
    assert caller.first("result")["rx"]["share"]["440"] > 0.5


async def test_blind_transfer_reports_notify_outcome(peers: Peers) -> None:
    """Call.xfer sends REFER; the transferee calls the target; NOTIFY 200 reaches the sender."""
    target = await peers.start("answer", "--tone", "700", "--hangup-after", "1.0")
    gw = await peers.start("answer", "--xfer-to", f"sip:desk@127.0.0.1:{target.port}")
    caller = await peers.start(
        "call", "--to", f"sip:gw@127.0.0.1:{gw.port}", "--calls", "2", "--seconds", "8",
        "--expect", "700",
    )  # fmt: skip
    assert await caller.finish() == 0, caller.output()
    await gw.finish()
    await target.finish()
    statuses = gw.all("transfer_status")
    assert statuses[-1]["code"] == 200
    assert statuses[-1]["final"] is True
    assert caller.first("transfer_request")["target"] == f"sip:desk@127.0.0.1:{target.port}"
    assert target.first("incoming")["request_uri"] == f"sip:desk@127.0.0.1:{target.port}"
    assert caller.first("result")["rx"]["share"]["700"] > 0.5


async def test_registration_answers_a_digest_challenge(peers: Peers, raw: RawSip) -> None:
    """AccountConfig regConfig + AuthCredInfo: REGISTER, 401, REGISTER with a valid digest."""
    registrar = f"sip:127.0.0.1:{raw.port}"
    ua = peers.start("register", "--register", registrar, "--user", "alice", "--password", "s3cret")
    start = asyncio.ensure_future(ua)
    first, addr = await asyncio.to_thread(raw.next_request, "REGISTER")
    assert first.header("authorization") is None
    challenge = 'Digest realm="voicegw.test", nonce="n0nce", algorithm=MD5, qop="auth"'
    raw.respond(first, addr, 401, (f"WWW-Authenticate: {challenge}",))
    second, addr = await asyncio.to_thread(raw.next_request, "REGISTER")
    auth = auth_params(second.header("authorization") or "")
    expected = digest_response(
        method="REGISTER", uri=auth["uri"], user="alice", realm="voicegw.test",
        password="s3cret", nonce="n0nce", nc=auth["nc"], cnonce=auth["cnonce"],
    )  # fmt: skip
    assert (auth["username"], auth["realm"]) == ("alice", "voicegw.test")
    assert auth["response"] == expected
    raw.respond(second, addr, 200, (f"Contact: {second.header('contact')};expires=300",))
    peer = await start
    assert (await peer.expect("reg_state"))["code"] == 200


async def test_tls_call_carries_audio(peers: Peers, tmp_path: Path) -> None:
    """TLS is in the build (bundled OpenSSL 1.0.2k, TLS 1.2): a call over TLS carries audio."""
    openssl = require_tool("openssl")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    await asyncio.to_thread(
        subprocess.run,
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    gw = await peers.start("answer", "--tls-cert", str(cert), "--tls-key", str(key))
    tls_port = gw.first("ready")["tls_port"]
    caller = await peers.start(
        "call", "--to", f"sip:gw@127.0.0.1:{tls_port};transport=tls", "--tls",
        "--expect", "440", "--seconds", "1.0",
    )  # fmt: skip
    assert await caller.finish() == 0
    await gw.finish()
    assert caller.first("result")["rx"]["share"]["440"] > 0.5


async def test_attended_transfer_replaces_the_consultation_call(peers: Peers) -> None:
    """xferReplaces: REFER carries Replaces, the target swaps calls (onCallReplaced), NOTIFY 200."""
    target = await peers.start("answer", "--hangup-after", "1.5", "--calls", "2")
    gw = await peers.start(
        "answer", "--consult-to", f"sip:desk@127.0.0.1:{target.port}", "--calls", "2"
    )
    caller = await peers.start(
        "call", "--to", f"sip:gw@127.0.0.1:{gw.port}", "--calls", "2", "--seconds", "8"
    )
    for peer in (caller, gw, target):
        assert await peer.finish() == 0, peer.output()
    refer_to = caller.first("transfer_request")["target"]
    assert refer_to.startswith(f"<sip:desk@127.0.0.1:{target.port}?Require=replaces&Replaces=")
    assert len(caller.all("media_active")) == 2  # the caller's new call, to the target
    assert target.all("replaced")
    assert len(target.all("incoming")) == 1  # the Replaces INVITE bypasses onIncomingCall
    final = gw.all("transfer_status")[-1]
    assert (final["code"], final["final"]) == (200, True)
