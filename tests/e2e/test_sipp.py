"""SIPp against the real gateway: cancel, hang-up mid-answer, RFC 4733 DTMF, hold, capacity,
a failed transfer. SIPp runs our scenarios from ``deploy/sipp/`` and plays pcaps written by
``deploy/sipp/make_pcap.py``; an :class:`~tests.e2e.rtp_tap.RtpTap` watches the RTP the
gateway sends to SIPp, which SIPp itself does not report.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_tool
from tests.e2e.harness import Proc, Stack, free_port, make_pcap, stack, wait_for
from tests.e2e.rtp_tap import RtpPacket, require_raw_sockets, rtp_tap

pytestmark = pytest.mark.system

GRAPH = """
name: sipp-e2e
session:
  audio_format: audio/pcmu
  turn_detection: {type: server_vad, silence_duration_ms: 400, prefix_padding_ms: 200}
phone:
  greeting: "Test line, hello."
  transfer_targets:
    reception: "sip:reception@127.0.0.1:TARGET_PORT"
agents:
  - name: desk
    instructions: "You answer the test line for {caller}."
    tools: [end_call, transfer_call]
routes:
  default: desk
"""

SCENARIO = """
caller_transcripts: CALLER_LINES
rules:
  - caller: "story"
    say: "Here is a long story that goes on and on for many seconds, so that the caller has
      all the time in the world to hang up well before its end, and then it keeps going with
      even more words about nothing in particular until the very end of the test."
  - caller: "hours"
    say: "We are open nine to five."
  - caller: "sunday"
    say: "On Sunday we are closed."
  - caller: "person"
    say: "Putting you through to reception now."
    call: {name: transfer_call, arguments: {target: reception}}
  - tool_result: transfer_call
    say: "Sorry, I could not put you through to {result.target}: {result.detail}."
  - caller: "pressed 7"
    say: "You pressed seven."
fallback: "Sorry, I did not get that."
"""


def _scenario(*lines: str) -> str:
    return SCENARIO.replace("CALLER_LINES", "[" + ", ".join(f'"{x}"' for x in lines) + "]")


def _graph(target_port: int = 5) -> str:
    return GRAPH.replace("TARGET_PORT", str(target_port))


@pytest.fixture
def calls(tmp_path: Path) -> Iterator[Stack]:
    require_tool("sipp")
    require_tool("espeak-ng")
    require_raw_sockets()  # SIPp plays pcaps from a raw socket; the RTP tap is one too
    with stack(tmp_path) as s:
        yield s


def _problems(proc: Proc) -> list[dict[str, Any]]:
    """Log events at warning level or above."""
    return [e for e in proc.events() if e.get("level") in ("warning", "error", "critical")]


def _transcript(cdr: dict[str, Any]) -> list[str]:
    return Path(cdr["transcript_file"]).read_text().splitlines()


def _speech(s: Stack, name: str, text: str, *args: str) -> str:
    return str(make_pcap(s.workdir, name, "speech", "--say", text, *args))


def _gaps(packets: list[RtpPacket]) -> list[tuple[float, float]]:
    """(start, end) of the silences on the wire: consecutive packets more than 500 ms apart."""
    return [(a.at, b.at) for a, b in pairwise(packets) if b.at - a.at > 0.5]


# ------------------------------------------------------------------------------------ tests


def test_cancel_while_ringing_is_recorded_and_the_next_call_is_answered(calls: Stack) -> None:
    """A CANCEL in the ringing window gets 200 and the INVITE 487 (ACKed); the CDR says
    cancelled with 180 and 487 and no error; a normal call right after is answered."""
    calls.start_emulator(_scenario())
    gateway = calls.start_gateway(_graph(), "--min-ring-ms", "2000")
    cancel = calls.sipp_call("uac_cancel.xml", "-d", "300")
    assert cancel.returncode == 0, cancel.file("errors").read_text()
    assert cancel.stat("SuccessfulCall(C)") == 1
    starts = [m.splitlines()[0] for m in cancel.sip_messages()]
    assert [s.split()[0] for s in starts if not s.startswith("SIP/2.0")] == [
        "INVITE",
        "CANCEL",
        "ACK",
    ]
    assert [s for s in starts if s.startswith("SIP/2.0")] == [
        "SIP/2.0 100 Trying",
        "SIP/2.0 180 Ringing",
        "SIP/2.0 200 OK",
        "SIP/2.0 487 Request Terminated",
    ]
    (cdr,) = calls.wait_cdrs(1)
    assert cdr["outcome"] == "cancelled"
    assert cdr["sip_codes"] == [180, 487]
    assert cdr["errors"] == [] and "answer" not in cdr["times"]

    quiet = str(make_pcap(calls.workdir, "quiet.pcap", "silence", "--ms", "1000"))
    after = calls.sipp_call("uac_pcmu.xml", "-key", "pcap", quiet, "-d", "1500")
    assert after.returncode == 0 and after.stat("SuccessfulCall(C)") == 1
    second = calls.wait_cdrs(2)[1]
    assert second["outcome"] == "caller_hangup" and second["sip_codes"] == [180, 200]
    assert second["ms_since_invite"]["answer"] >= 2000  # the minimum ring still applies
    assert _problems(gateway) == []


def test_caller_hangs_up_while_the_agent_is_talking(calls: Stack) -> None:
    """The caller asks for a story and hangs up two seconds into it: the agent's audio is
    still on the wire up to the BYE, the CDR says caller_hangup without errors, and the
    gateway closes the Realtime session (the emulator logs the client going away)."""
    emulator = calls.start_emulator(_scenario("Tell me a story"))
    gateway = calls.start_gateway(_graph())
    question = _speech(calls, "story.pcap", "Tell me a story", "--lead-ms", "1500")
    media_port = free_port()
    with rtp_tap(media_port) as tap:
        sipp = calls.sipp_call(
            "uac_hangup_mid_response.xml", "-key", "pcap", question, "-d", "6000",
            media_port=media_port,
        )  # fmt: skip
    assert sipp.returncode == 0 and sipp.stat("SuccessfulCall(C)") == 1
    assert any("while the agent talks" in line for line in sipp.logs())
    end = tap.packets[-1].at
    assert tap.voiced(end - 1.0, end + 1) >= 40  # speech right up to the BYE
    (cdr,) = calls.wait_cdrs(1)
    assert cdr["outcome"] == "caller_hangup" and cdr["errors"] == []
    assert "user: Tell me a story" in _transcript(cdr)
    wait_for(lambda: _closed(emulator), 10, "the emulator to see the session close")
    (closed,) = _closed(emulator)
    assert closed["reason"] == "client closed"
    assert _problems(gateway) == []


def _closed(emulator: Proc) -> list[dict[str, Any]]:
    return [e for e in emulator.events() if e.get("event") == "session_closed"]


def test_rfc4733_dtmf_from_sipp_reaches_the_agent(calls: Stack) -> None:
    """Telephone-events played by SIPp are handed to the agent once per key press: the
    transcript shows each key and the agent's answer, the CDR counts two digits."""
    calls.start_emulator(_scenario())
    gateway = calls.start_gateway(_graph())
    keys = str(make_pcap(calls.workdir, "keys.pcap", "dtmf", "--digits", "7#"))
    sipp = calls.sipp_call(
        "uac_dtmf_2833.xml", "-key", "dtmf", keys, "-set", "dtmf_after_ms", "1500", "-d", "3000"
    )
    assert sipp.returncode == 0 and sipp.stat("SuccessfulCall(C)") == 1
    (cdr,) = calls.wait_cdrs(1)
    assert cdr["counters"]["dtmf_digits"] == 2
    transcript = _transcript(cdr)
    assert "user: [The caller pressed 7 on the keypad]" in transcript
    assert "user: [The caller pressed # on the keypad]" in transcript
    assert "assistant: You pressed seven." in transcript
    assert _problems(gateway) == []


@pytest.mark.parametrize("direction", ["sendonly", "inactive"])
def test_hold_and_unhold_keep_the_call_and_audio_flows_again(calls: Stack, direction: str) -> None:
    """A re-INVITE to hold stops the gateway's RTP, one back to sendrecv restarts it: after
    unhold the agent hears the caller's next question and its answer reaches SIPp's port."""
    calls.start_emulator(_scenario("What are your opening hours?", "And on Sunday?"))
    gateway = calls.start_gateway(_graph())
    first = _speech(calls, "one.pcap", "What are your opening hours?", "--lead-ms", "1300")
    second = _speech(
        calls, "two.pcap", "And on Sunday?", "--lead-ms", "300", "--ssrc", "0x5EED0002",
        "--seq", "30000", "--timestamp", "9000000",
    )  # fmt: skip
    media_port = free_port()
    with rtp_tap(media_port) as tap:
        sipp = calls.sipp_call(
            "uac_hold.xml", "-key", "pcap", first, "-key", "pcap_after", second,
            "-set", "hold_direction", direction, "-set", "talk_ms", "6500",
            "-set", "after_ms", "4500", "-d", "2000",
            media_port=media_port,
        )  # fmt: skip
    assert sipp.returncode == 0 and sipp.stat("SuccessfulCall(C)") == 1
    assert len(sipp.responses(200)) == 4  # INVITE, hold, unhold, BYE
    packets = [p for p in tap.packets if p.payload_type == 0]
    gaps = _gaps(packets)
    assert len(gaps) == 1, gaps  # RTP stopped once: while on hold
    held_from, held_to = gaps[0]
    assert held_to - held_from >= 1.7
    assert tap.voiced(0, held_from) >= 50  # the first answer was heard ...
    assert tap.voiced(held_to, float("inf")) >= 50  # ... and the one after unhold too
    (cdr,) = calls.wait_cdrs(1)
    assert cdr["outcome"] == "caller_hangup" and cdr["errors"] == []
    assert _transcript(cdr)[-4:] == [
        "user: What are your opening hours?",
        "assistant: We are open nine to five.",
        "user: And on Sunday?",
        "assistant: On Sunday we are closed.",
    ]
    assert _problems(gateway) == []


def test_full_gateway_answers_503_with_retry_after_and_keeps_its_calls(calls: Stack) -> None:
    """With --max-calls 3, four calls at once: three are answered and stay up, the fourth
    gets 503 with Retry-After on the wire and leaves a refused_capacity CDR."""
    calls.start_emulator(_scenario())
    gateway = calls.start_gateway(_graph(), "--max-calls", "3", "--retry-after", "17")
    quiet = str(make_pcap(calls.workdir, "quiet.pcap", "silence", "--ms", "4000"))
    sipp = calls.start_sipp(
        "sipp-capacity", "uac_capacity.xml", "-s", "100", "-key", "pcap", quiet,
        "-m", "4", "-l", "4", "-r", "10", "-d", "4000",
    )  # fmt: skip
    (refused,) = calls.wait_cdrs(1)
    assert refused["outcome"] == "refused_capacity" and refused["sip_codes"] == [503]
    wait_for(lambda: (calls.ready() or {}).get("active_calls") == 3, 5, "three live calls")
    assert sipp.wait(30) == 0
    assert sipp.stat("SuccessfulCall(C)") == 4 and sipp.stat("FailedCall(C)") == 0
    (response,) = sipp.responses(503)
    assert "\nRetry-After: 17" in response
    logs = sipp.logs()
    assert [line.split(": ", 1)[1] for line in logs if line.startswith("refused ")] == [
        "503 Retry-After 17"
    ]
    assert sum(line.startswith("answered ") for line in logs) == 3
    cdrs = calls.wait_cdrs(4)
    served = [c for c in cdrs if c["outcome"] == "caller_hangup"]
    assert len(served) == 3
    assert all(c["talk_s"] >= 3.5 and c["errors"] == [] for c in served)
    assert all(c["counters"]["frames_out"] >= 40 for c in served)  # each heard the greeting
    refusals = [e for e in gateway.events() if e.get("event") == "call_refused"]
    assert [(e["status"], e["retry_after"]) for e in refusals] == [(503, 17)]


def test_transfer_to_a_busy_target_fails_and_the_agent_says_so(calls: Stack) -> None:
    """REFER to a SIPp UAS that answers 486: the caller's NOTIFY carries 486, the CDR has
    transfer.ok false and status 486, the agent tells the caller and the call goes on."""
    busy = calls.start_sipp("sipp-busy", "uas_busy.xml", "-m", "1", to_gateway=False)
    calls.start_emulator(_scenario("Can I speak to a person?"))
    gateway = calls.start_gateway(_graph(busy.port))
    summary = calls.call("--say", "Can I speak to a person?", "--duration", "11")
    assert summary["transferred_to"] == f"sip:reception@127.0.0.1:{busy.port}"
    assert summary["transfer_status"] == 486
    assert summary["hangup_by"] == "local"  # the caller stayed with the agent
    assert busy.wait(10) == 0 and busy.stat("SuccessfulCall(C)") == 1
    assert [m.splitlines()[0] for m in busy.sip_messages()][:2] == [
        f"INVITE sip:reception@127.0.0.1:{busy.port} SIP/2.0",
        "SIP/2.0 100 Trying",
    ]
    (cdr,) = calls.wait_cdrs(1)
    assert cdr["transfer"]["ok"] is False and cdr["transfer"]["status"] == 486
    assert cdr["outcome"] == "caller_hangup"
    finished = [e for e in gateway.events() if e.get("event") == "transfer_finished"]
    assert [(e["ok"], e["status"]) for e in finished] == [(False, 486)]
    apology = "assistant: Sorry, I could not put you through to reception: 486 Busy Here."
    assert apology in summary["transcript"]
    assert summary["transcript"].index(apology) > summary["transcript"].index(
        "assistant: Putting you through to reception now."
    )


def test_attended_transfer_abandons_the_consultation_when_the_caller_leaves(
    calls: Stack,
) -> None:
    """--attended-transfer: the gateway first calls the target itself. The target only rings
    (uas_ring.xml); when the caller hangs up meanwhile, the consultation call is cancelled at
    once (the target gets a CANCEL while the gateway is still running), so no agent picks up
    a dead line later, and the call is recorded as the caller's hang-up."""
    ring = calls.start_sipp("sipp-ring", "uas_ring.xml", "-m", "1", to_gateway=False)
    calls.start_emulator(_scenario("Can I speak to a person?"))
    gateway = calls.start_gateway(_graph(ring.port), "--attended-transfer")
    summary = calls.call("--say", "Can I speak to a person?", "--duration", "9")
    assert summary["hangup_by"] == "local"
    assert ring.wait(10) == 0 and ring.stat("SuccessfulCall(C)") == 1
    assert gateway.popen.poll() is None  # cancelled by the call's end, not by the shutdown
    assert [m.splitlines()[0] for m in ring.sip_messages()][:1] == [
        f"INVITE sip:reception@127.0.0.1:{ring.port} SIP/2.0"
    ]
    assert any(line.startswith("ring: cancelled ") for line in ring.logs())
    (cdr,) = calls.wait_cdrs(1)
    assert cdr["outcome"] == "caller_hangup"
