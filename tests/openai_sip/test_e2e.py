"""Real calls through the emulated OpenAI SIP endpoint, in real processes on loopback.

test caller (pjsua2) -> emulator SIP front (pjsua2) -> signed webhook -> ``voicegw openai-sip``
-> REST accept -> sideband attach -> agent graph; transfers go to a SIPp UAS. Each test starts
its own pair of processes (the scripted recogniser's lines are per scenario); two of them make
the emulator's webhooks late or duplicated, as at-least-once delivery allows. After each test
neither process's log may contain the webhook secret.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.openai_sip.harness import OpenAISipStack, openai_sip_stack, sipp_uas

pytestmark = pytest.mark.system

GRAPH = """
name: openai-sip-e2e
session:
  audio_format: audio/pcmu
  turn_detection: {type: server_vad, create_response: true, interrupt_response: true}
phone:
  greeting: "Hello, test line."
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
    handoffs: [billing]
  - name: billing
    instructions: "You handle billing."
    tools: [end_call]
routes:
  default: desk
"""

SCENARIO = """
caller_transcripts: LINES
rules:
  - caller: "hours"
    say: "Let me check."
    call: {name: get_hours, arguments: {day: "monday"}}
  - tool_result: get_hours
    say: "On Monday we are open {result.monday}."
  - caller: "person"
    say: "Putting you through."
    call: {name: transfer_call, arguments: {target: reception}}
  - caller: "billing"
    handoff: billing
  - caller: "goodbye"
    say: "Goodbye, thanks for calling."
    call: {name: end_call, arguments: {reason: "caller said goodbye"}}
  - caller: "pressed 5"
    say: "You pressed five."
fallback: "Sorry, say again?"
"""

Start = Callable[..., OpenAISipStack]


@pytest.fixture
def osip(tmp_path: Path) -> Iterator[Start]:
    """Start the two processes for one test: ``osip(lines, target_port=..., emulator=...)``.

    ``lines`` are what the emulator's scripted recogniser hears, one per caller turn.
    """
    require_tool("espeak-ng")
    with openai_sip_stack(tmp_path) as stack:

        def go(lines: list[str], target_port: int = 5, **flags: tuple[str, ...]) -> OpenAISipStack:
            scenario = SCENARIO.replace("LINES", json.dumps(lines))
            stack.start_both(GRAPH.replace("TARGET_PORT", str(target_port)), scenario, **flags)
            return stack

        yield go
        stack.assert_secret_never_logged()


def test_greeting_tool_call_and_refer_to_a_sipp_uas(osip: Start, tmp_path: Path) -> None:
    """The main flow: webhook, accept, attach, greeting, a tool answer, then transfer_call ->
    REST refer -> SIP REFER to the caller, who reaches the SIPp UAS (NOTIFY 200); the
    emulated service then ends its leg and the CDR says transferred."""
    uas, port = sipp_uas(tmp_path, require_tool("sipp"))
    plain = osip(["what are your opening hours", "can i speak to a person"], target_port=port)
    plain.procs.append(uas)
    summary = plain.call(
        "--say", "What are your opening hours?", "--say", "Can I speak to a person?",
        "--duration", "30",
    )  # fmt: skip
    assert summary["answered"] and summary["sip_codes"] == [180, 200]
    assert summary["ms_to_first_audio"] is not None and summary["ms_to_first_audio"] < 2000
    assert summary["transferred_to"].startswith("sip:reception@127.0.0.1:")
    assert summary["transfer_status"] == 200
    cdr = plain.cdr_of(summary)
    assert cdr["transport"] == "openai-sip" and cdr["outcome"] == "transferred"
    assert cdr["tools"][0]["tool"] == "get_hours" and cdr["tools"][0]["ok"]
    assert cdr["transfer"]["ok"] and cdr["transfer"]["uri"] == summary["transferred_to"]
    assert summary["transcript"][:4] == [
        "assistant: Hello, test line.",
        "user: what are your opening hours",
        "assistant: Let me check.",
        "assistant: On Monday we are open 9 am to 6 pm.",
    ]
    assert "assistant: Putting you through." in summary["transcript"]
    (refer,) = plain.events("emulator", "sip_refer_finished")
    assert refer["ok"] and refer["status"] == 200


def test_a_disallowed_caller_is_rejected(osip: Start) -> None:
    """A caller outside --allow-caller is rejected over REST: the phone gets 603."""
    plain = osip([], gateway=("--allow-caller", "alice|bob"))
    summary = plain.call("--from-user", "mallory", "--duration", "10")
    assert not summary["answered"] and summary["sip_codes"][-1] == 603
    cdr = plain.cdr_of(summary)
    assert cdr["outcome"] == "rejected" and cdr["sip_codes"] == [603]


def test_dtmf_handoff_and_end_call_after_the_goodbye(osip: Start) -> None:
    """A keypad press reaches the agent, a handoff moves the call to billing, and billing's
    end_call hangs up only once the goodbye has been played (the caller hears it to the end)."""
    plain = osip(["billing please", "thank you goodbye"])
    summary = plain.call(
        "--dtmf", "5", "--after-answer-ms", "2000", "--quiet-ms", "1500",
        "--say", "Billing please.", "--say", "Thank you, goodbye.",
        "--duration", "30",
    )  # fmt: skip
    assert summary["answered"] and summary["hangup_by"] == "remote"
    transcript = summary["transcript"]
    assert "user: [The caller pressed 5 on the keypad]" in transcript
    assert "assistant: You pressed five." in transcript
    assert transcript[-1] == "assistant: Goodbye, thanks for calling."
    assert summary["received_seconds"] >= summary["duration_s"] - 1.5
    cdr = plain.cdr_of(summary)
    assert cdr["outcome"] == "completed" and cdr["agents"] == ["desk", "billing"]
    assert cdr["counters"]["dtmf_digits"] == 1


def test_the_caller_hanging_up_ends_the_call(osip: Start) -> None:
    """The caller hangs up mid-call: the sideband drops, the call is recorded as hung up by
    the caller, and the gateway sends no hangup of its own."""
    plain = osip([])
    summary = plain.call("--duration", "4")
    assert summary["answered"] and summary["hangup_by"] == "local"
    cdr = plain.cdr_of(summary, timeout=5)
    assert cdr["outcome"] == "caller_hangup"
    hangups = [e for e in plain.events("emulator", "call_control_received")
               if e["call_id"] == cdr["call_id"] and e["action"] == "hangup"]  # fmt: skip
    assert hangups == []


def test_a_late_webhook_after_hang_up_is_a_404_no_op(osip: Start) -> None:
    """The caller gives up before the (delayed) webhook arrives: accept gets 404, which the
    gateway treats as a no-op; the delivery is still acknowledged."""
    faulty = osip([], emulator=("--webhook-delay-ms", "1500"))
    summary = faulty.call("--duration", "0.8")
    assert not summary["answered"]
    cdr = faulty.cdr_of(summary)
    assert cdr["outcome"] == "caller_gone"
    accepts = [e for e in faulty.events("emulator", "call_control_received")
               if e["call_id"] == cdr["call_id"]]  # fmt: skip
    assert [(e["action"], e["status"]) for e in accepts] == [("accept", 404)]
    assert [e["status"] for e in faulty.events("emulator", "webhook_sent")] == [200]


def test_duplicate_webhook_deliveries_are_handled_once(osip: Start) -> None:
    """The event is delivered twice (two webhook-ids): both get 2xx, the call is accepted and
    run once, and leaves one CDR."""
    faulty = osip([], emulator=("--webhook-duplicates", "1"))
    summary = faulty.call("--duration", "5")
    assert summary["answered"]
    cdr = faulty.cdr_of(summary)
    assert cdr["outcome"] == "caller_hangup"
    assert [c["call_id"] for c in faulty.cdrs()].count(cdr["call_id"]) == 1
    ops = [e["action"] for e in faulty.events("emulator", "call_control_received")
           if e["call_id"] == cdr["call_id"]]  # fmt: skip
    assert ops == ["accept"]
    duplicates = [e for e in faulty.events("gateway", "webhook_duplicate")
                  if e["call_id"] == cdr["call_id"]]  # fmt: skip
    assert len(duplicates) == 1
    sent = [e for e in faulty.events("emulator", "webhook_sent") if e["status"] == 200]
    assert len({e["webhook_id"] for e in sent}) >= 2
