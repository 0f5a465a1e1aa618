"""Real calls on loopback: test caller -> gateway (pjsua2) -> emulator, and transfers to SIPp."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.e2e.harness import Stack, stack

pytestmark = pytest.mark.system

GRAPH = """
name: e2e
session:
  audio_format: audio/pcmu
  turn_detection: {type: server_vad, silence_duration_ms: 400, prefix_padding_ms: 200}
phone:
  greeting: "Thanks for calling the test line. How can I help?"
  transfer_targets:
    reception: "sip:reception@127.0.0.1:TARGET_PORT"
tools:
  - name: get_hours
    description: Opening hours.
    python: gateway.tools.front_desk:get_hours
    parameters: {type: object, properties: {day: {type: string}}}
agents:
  - name: desk
    instructions: "You answer the test line for {caller}."
    tools: [get_hours, end_call, transfer_call]
routes:
  default: desk
"""

SCENARIO = """
caller_transcripts: CALLER_LINES
rules:
  - caller: "hours"
    say: "Let me check."
    call: {name: get_hours, arguments: {day: "monday"}}
  - tool_result: get_hours
    say: "On Monday we are open {result.monday}."
  - caller: "person"
    say: "Putting you through to reception now."
    call: {name: transfer_call, arguments: {target: reception}}
  - caller: "story"
    say: "Here is a long story that goes on and on for many seconds so that the caller will
      certainly have time to interrupt it well before the end, which is what this test
      needs, and then it keeps going with even more words about nothing in particular."
  - caller: "goodbye"
    say: "Goodbye, thanks for calling."
    call: {name: end_call, arguments: {reason: "caller said goodbye"}}
  - caller: "pressed 0"
    say: "You pressed zero."
fallback: "Sorry, I did not get that."
"""


def _scenario(*lines: str) -> str:
    quoted = ", ".join(f'"{line}"' for line in lines)
    return SCENARIO.replace("CALLER_LINES", f"[{quoted}]")


@pytest.fixture
def calls(tmp_path: Path) -> Iterator[Stack]:
    require_tool("espeak-ng")
    with stack(tmp_path) as s:
        yield s


def _graph(target_port: int = 5) -> str:
    return GRAPH.replace("TARGET_PORT", str(target_port))


def test_greeting_tool_and_goodbye_with_end_call_after_it_is_heard(calls: Stack) -> None:
    """The front-desk flow: greeting, a question, a tool, the answer, goodbye, the agent hangs
    up after the goodbye was played; the CDR and transcript record it all."""
    calls.start_emulator(_scenario("What are your opening hours?", "Thank you, goodbye."))
    calls.start_gateway(_graph())
    summary = calls.call(
        "--say", "What are your opening hours?", "--say", "Thank you, goodbye.", "--duration", "45"
    )
    assert summary["answered"] and summary["sip_codes"] == [180, 200]
    assert summary["hangup_by"] == "remote"  # end_call
    assert summary["lines_played"] == 2
    assert summary["ms_to_first_audio"] is not None and summary["ms_to_first_audio"] < 2000
    assert summary["received_rms_dbfs"] > -35
    assert summary["transcript"] == [
        "assistant: Thanks for calling the test line. How can I help?",
        "user: What are your opening hours?",
        "assistant: Let me check.",
        "assistant: On Monday we are open 9 am to 6 pm.",
        "user: Thank you, goodbye.",
        "assistant: Goodbye, thanks for calling.",
    ]
    (cdr,) = calls.wait_cdrs(1)
    assert cdr["outcome"] == "completed"
    assert cdr["tools"][0]["tool"] == "get_hours" and cdr["tools"][0]["ok"]
    assert cdr["sip_codes"] == [180, 200]
    assert {"invite", "answer", "first_agent_audio", "end"} <= set(cdr["times"])
    assert cdr["counters"]["barge_ins"] == 0 if "barge_ins" in cdr["counters"] else True
    # the goodbye was heard: the far end's audio lasted until close to the BYE
    assert summary["received_seconds"] >= summary["duration_s"] - 2


def test_barge_in_stops_agent_audio_and_truncates(calls: Stack) -> None:
    """The caller talks over a long answer: the agent's audio on the wire stops within a few
    frames of the server noticing, and the item is truncated at what was played."""
    calls.start_emulator(_scenario("Tell me a story", "Stop, thank you."))
    calls.start_gateway(_graph())
    summary = calls.call(
        "--say", "Tell me a story", "--say", "Stop, thank you.",
        "--barge-in-after-ms", "1500", "--record", str(calls.workdir / "heard.wav"),
        "--duration", "14",
    )  # fmt: skip
    assert summary["answered"]
    (cdr,) = calls.wait_cdrs(1)
    cuts = [c for c in cdr["interruptions"] if c["cause"] == "speech"]
    assert len(cuts) == 1
    heard_ms = cuts[0]["heard_ms"]
    # the caller started talking 1.5 s into the story; VAD needs a moment to react
    assert 1200 <= heard_ms <= 3000
    assert summary["silence_after_barge_in_ms"] is not None
    assert summary["silence_after_barge_in_ms"] <= 1200


def test_dtmf_reaches_the_agent(calls: Stack) -> None:
    """RFC 4733 digits from the caller are given to the agent, which answers them."""
    calls.start_emulator(_scenario())
    calls.start_gateway(_graph())
    summary = calls.call("--dtmf", "0", "--after-answer-ms", "4000", "--duration", "9")
    assert summary["answered"]
    assert "user: [The caller pressed 0 on the keypad]" in summary["transcript"]
    assert "assistant: You pressed zero." in summary["transcript"]
    (cdr,) = calls.wait_cdrs(1)
    assert cdr["counters"]["dtmf_digits"] == 1


def test_blind_transfer_to_a_sipp_queue_reports_the_notify_outcome(calls: Stack) -> None:
    """transfer_call: REFER to the caller, who calls the SIPp queue (uas_queue.xml); NOTIFY 200
    ends our leg, and the queue keeps the transferred call until the caller's BYE."""
    queue = calls.start_sipp("sipp-queue", "uas_queue.xml", "-m", "1", to_gateway=False)
    calls.start_emulator(_scenario("Can I speak to a person?"))
    calls.start_gateway(_graph(queue.port))
    summary = calls.call("--say", "Can I speak to a person?", "--duration", "30")
    assert summary["transferred_to"] == f"sip:reception@127.0.0.1:{queue.port}"
    assert summary["transfer_status"] == 200
    (cdr,) = calls.wait_cdrs(1)
    assert cdr["outcome"] == "transferred"
    assert cdr["transfer"]["ok"] and cdr["transfer"]["status"] == 200
    assert "assistant: Putting you through to reception now." in summary["transcript"]
    assert queue.wait(10) == 0 and queue.stat("SuccessfulCall(C)") == 1
    assert any(line.startswith("queue answered ") for line in queue.logs())
    assert [m.splitlines()[0] for m in queue.sip_messages()][-2:] == [
        f"BYE sip:queue@127.0.0.1:{queue.port};transport=UDP SIP/2.0",
        "SIP/2.0 200 OK",
    ]
