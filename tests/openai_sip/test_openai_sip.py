"""The OpenAI SIP transport end to end in one process, over loopback sockets (no pjsua2).

A fake SIP leg rings the emulated OpenAI endpoint, which fires the signed webhook at a real
:class:`OpenAISipGateway`; the gateway accepts over REST, attaches the sideband and runs the
agent graph. Every sideband event both ways is checked against the official GA types.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from openai.types.realtime.call_accept_params import CallAcceptParams
from pydantic import TypeAdapter

from gateway.core.agents.session_config import SIP_ACCEPT_TURN_FIELDS
from tests.openai_sip.helpers import Chain, FakeLeg, chain, until

GRAPH = """
name: osip
session:
  audio_format: audio/pcmu
  voice: marin
  turn_detection:
    type: server_vad
    threshold: 0.5
    prefix_padding_ms: 200
    silence_duration_ms: 300
    create_response: true
    interrupt_response: true
phone:
  greeting: "Hello, test line."
  transfer_targets:
    reception: "sip:reception@127.0.0.1:5999"
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
    guardrails:
      output:
        - type: no_long_digits
  - name: billing
    instructions: "You handle billing."
    voice: cedar
    tools: [end_call]
    handoffs: [desk]
routes:
  default: desk
  rules:
    - dialed: "\\\\+4420.*"
      agent: billing
"""

SCENARIO = """
caller_transcripts: LINES
rules:
  - caller: "hours"
    call: {name: get_hours, arguments: {day: "monday"}}
  - tool_result: get_hours
    say: "On Monday we are open {result.monday}."
  - caller: "billing"
    handoff: billing
  - caller: "goodbye"
    say: "Goodbye, thanks for calling the test line."
    call: {name: end_call, arguments: {reason: "caller said goodbye"}}
  - caller: "person"
    say: "Putting you through."
    call: {name: transfer_call, arguments: {target: reception}}
  - caller: "card"
    say: "Your card number is 4111 1111 1111 1111, is that right?"
  - caller: "pressed 5"
    say: "You pressed five."
fallback: "Sorry, say again?"
"""


def _scenario(*lines: str) -> str:
    return SCENARIO.replace("LINES", "[" + ", ".join(f'"{line}"' for line in lines) + "]")


async def _answered(c: Chain, leg: FakeLeg) -> str:
    """Place the call; return its call id once the greeting is being heard."""
    c.call(leg)
    await until(lambda: 200 in leg.responses, 5, "the accept")
    await until(lambda: leg.heard_ms() > 300, 5, "the greeting")
    return c.emulated(leg).call_id


async def _greeted(c: Chain, leg: FakeLeg) -> str:
    """Place the call; return once the whole greeting has played (the buffer stopped)."""
    call_id = await _answered(c, leg)
    await until(lambda: "output_audio_buffer.stopped" in c.sideband.types(call_id), 5, "stop")
    return call_id


def _sent(c: Chain, call_id: str, kind: str) -> list[dict[str, Any]]:
    return [e for e in c.sideband.sent.get(call_id, []) if e["type"] == kind]


async def test_accept_carries_the_entry_agents_session_and_the_greeting_follows(
    tmp_path: Path,
) -> None:
    """accept: type, model, rendered instructions, voice, tools with handoffs, turn detection
    limited to accept's fields, no audio format (valid as the SDK's CallAcceptParams). Then the
    sideband's first update is sparse and the greeting is a response.create."""
    async with chain(tmp_path, GRAPH, _scenario()) as c:
        leg = FakeLeg()
        call_id = await _answered(c, leg)
        body = c.emulated(leg).accepted
        assert body is not None
        assert TypeAdapter(CallAcceptParams).validate_python(body) == body
        assert body["type"] == "realtime" and body["model"] == "gpt-realtime"
        assert body["instructions"] == "You answer the test line for +441632960001."
        assert body["audio"]["output"] == {"voice": "marin"}
        turn = body["audio"]["input"]["turn_detection"]
        assert set(turn) <= SIP_ACCEPT_TURN_FIELDS and turn["type"] == "server_vad"
        assert "format" not in body["audio"]["input"]
        names = {t["name"] for t in body["tools"]}
        assert names == {"get_hours", "end_call", "transfer_call", "transfer_to_billing"}
        first, greeting = c.sideband.sent[call_id][:2]
        assert first["type"] == "session.update"
        assert set(first["session"]) == {"type", "instructions", "tools"}
        assert greeting == {
            "type": "response.create",
            "response": {"instructions": "Say exactly: Hello, test line."},
            "event_id": greeting["event_id"],
        }
        assert c.front.webhooks.acknowledged  # the webhook got its 2xx


async def test_tool_call_then_handoff_updates_only_instructions_and_tools(tmp_path: Path) -> None:
    """A tool runs and its answer is spoken; the handoff to billing sends a sparse update
    (never formats or turn detection) and, audio having played, keeps the voice."""
    async with chain(tmp_path, GRAPH, _scenario("what are your hours", "billing please")) as c:
        leg = FakeLeg()
        call_id = await _greeted(c, leg)
        leg.say("what are your hours")
        await until(lambda: len(_sent(c, call_id, "conversation.item.create")) >= 1, 5, "tool")
        await until(lambda: c.sideband.types(call_id).count("output_audio_buffer.stopped") >= 2)
        leg.say("billing please")
        await until(lambda: len(_sent(c, call_id, "session.update")) >= 2, 5, "the handoff")
        update = _sent(c, call_id, "session.update")[1]["session"]
        assert set(update) == {"type", "instructions", "tools"}
        assert update["instructions"] == "You handle billing."
        assert [t["name"] for t in update["tools"]] == ["end_call", "transfer_to_desk"]
        leg.caller_hangs_up()
        cdr = await c.cdr(leg)
    assert cdr["agents"] == ["desk", "billing"]
    assert cdr["tools"][0]["tool"] == "get_hours" and cdr["tools"][0]["ok"]
    assert "assistant: On Monday we are open 9 am to 6 pm." in c.transcript(cdr)


async def test_an_output_guardrail_cuts_the_servers_playout(tmp_path: Path) -> None:
    """A card number trips no_long_digits: the gateway sends output_audio_buffer.clear even
    though the response is done (the server is still playing it); the server clears."""
    async with chain(tmp_path, GRAPH, _scenario("read my card")) as c:
        leg = FakeLeg()
        call_id = await _greeted(c, leg)
        leg.say("read my card")
        await until(lambda: "output_audio_buffer.cleared" in c.sideband.types(call_id), 5)
        assert _sent(c, call_id, "output_audio_buffer.clear")
        leg.caller_hangs_up()
        cdr = await c.cdr(leg)
    assert cdr["counters"]["guardrail_trips"] == 1


async def test_dtmf_is_delivered_to_the_agent(tmp_path: Path) -> None:
    """A keypad press arrives as input_audio_buffer.dtmf_event_received and reaches the agent
    as a caller message, which it answers."""
    async with chain(tmp_path, GRAPH, _scenario()) as c:
        leg = FakeLeg()
        call_id = await _greeted(c, leg)
        leg.press("5")
        await until(lambda: len(_sent(c, call_id, "response.create")) >= 2, 5, "the answer")
        (dtmf,) = [e for e in c.sideband.received[call_id] if "dtmf" in e["type"]]
        assert dtmf["event"] == "5" and isinstance(dtmf["received_at"], int)
        await until(lambda: c.sideband.types(call_id).count("output_audio_buffer.stopped") >= 2)
        leg.caller_hangs_up()
        cdr = await c.cdr(leg)
    transcript = c.transcript(cdr)
    assert "user: [The caller pressed 5 on the keypad]" in transcript
    assert "assistant: You pressed five." in transcript
    assert cdr["counters"]["dtmf_digits"] == 1


async def test_end_call_hangs_up_after_the_goodbye_was_heard(tmp_path: Path) -> None:
    """end_call waits for output_audio_buffer.stopped, so the caller hears the whole goodbye
    before the REST hangup ends the call."""
    async with chain(tmp_path, GRAPH, _scenario("goodbye")) as c:
        leg = FakeLeg()
        call_id = await _greeted(c, leg)
        played_before = leg.playout.counters().played
        leg.say("goodbye")
        cdr = await c.cdr(leg)
        call = c.emulated(leg)
    assert leg.hung_up and call.ops == [("accept", 200), ("hangup", 200)]
    assert cdr["outcome"] == "completed"
    (goodbye,) = [i for i in c.emulator.sessions[-1].conversation.items if "Goodbye" in i.text]
    assert leg.unplayed_at_hangup_ms == 0  # nothing of it was still queued at the BYE
    assert (leg.playout.counters().played - played_before) * 20 >= goodbye.audio_ms - 20
    assert c.sideband.types(call_id)[-1] == "output_audio_buffer.stopped"


async def test_transfer_refers_the_caller_and_the_service_ends_the_call(tmp_path: Path) -> None:
    """transfer_call -> REST refer with the graph's target URI; the service REFERs the caller,
    hangs its leg up once the target answered, and the gateway records a transfer."""
    async with chain(tmp_path, GRAPH, _scenario("a person please")) as c:
        leg = FakeLeg()
        await _greeted(c, leg)
        leg.say("a person please")
        cdr = await c.cdr(leg)
    assert leg.referred == ["sip:reception@127.0.0.1:5999"] and leg.hung_up
    assert cdr["outcome"] == "transferred"
    assert cdr["transfer"]["ok"] and cdr["transfer"]["uri"] == "sip:reception@127.0.0.1:5999"
    assert ("refer", 200) in c.emulated(leg).ops


async def test_a_caller_hang_up_ends_the_call_at_once(tmp_path: Path) -> None:
    """The sideband drops without a close frame; one re-attach finds the call gone, and the
    call is recorded as hung up by the caller within a second, with no REST hangup."""
    async with chain(tmp_path, GRAPH, _scenario()) as c:
        leg = FakeLeg()
        await _answered(c, leg)
        leg.caller_hangs_up()
        started = asyncio.get_running_loop().time()
        cdr = await c.cdr(leg)
        elapsed = asyncio.get_running_loop().time() - started
    assert cdr["outcome"] == "caller_hangup" and elapsed < 1.5
    assert c.emulated(leg).ops == [("accept", 200)]
    assert cdr["counters"]["sideband_attaches"] == 1


async def test_duplicate_webhook_deliveries_run_the_call_once(tmp_path: Path) -> None:
    """Three deliveries of the event (at-least-once): all acknowledged, one accept, one CDR."""
    async with chain(tmp_path, GRAPH, _scenario(), webhook={"duplicates": 2}) as c:
        leg = FakeLeg()
        await _answered(c, leg)
        await until(lambda: len(c.front.webhooks.acknowledged) == 3, 5, "3 deliveries")
        leg.caller_hangs_up()
        await c.cdr(leg)
        await asyncio.sleep(0.2)
    assert c.emulated(leg).ops == [("accept", 200)]
    assert len(c.cdrs()) == 1 and len(c.gateway.seen) == 1


async def test_a_webhook_after_the_caller_hung_up_gets_404_and_is_a_no_op(tmp_path: Path) -> None:
    """Delivered late, after the caller gave up: accept answers 404, the gateway records the
    call as gone and still acknowledges the webhook."""
    async with chain(tmp_path, GRAPH, _scenario(), webhook={"delay_ms": 300}) as c:
        leg = FakeLeg()
        c.call(leg)
        await until(lambda: 180 in leg.responses, 2, "ringing")
        leg.caller_cancels()
        cdr = await c.cdr(leg)
    assert cdr["outcome"] == "caller_gone" and cdr["sip_codes"] == []
    assert c.emulated(leg).ops == [("accept", 404)]
    assert len(c.front.webhooks.acknowledged) == 1


async def test_a_disallowed_caller_is_rejected_with_603(tmp_path: Path) -> None:
    """A caller outside the allow list is rejected over REST; the caller hears 603."""
    gateway = {"allow_callers": (r"\+1\d+",)}
    async with chain(tmp_path, GRAPH, _scenario(), gateway=gateway) as c:
        leg = FakeLeg()
        c.call(leg)
        cdr = await c.cdr(leg)
    assert leg.responses == [180, 603]
    assert cdr["outcome"] == "rejected" and cdr["sip_codes"] == [603]
    assert c.emulated(leg).ops == [("reject", 200)]


async def test_over_capacity_the_next_call_is_rejected_busy(tmp_path: Path) -> None:
    """With max_calls 1 a second concurrent call gets 486 Busy Here, and a CDR."""
    async with chain(tmp_path, GRAPH, _scenario(), gateway={"max_calls": 1}) as c:
        first, second = FakeLeg(), FakeLeg()
        await _answered(c, first)
        c.call(second)
        cdr = await c.cdr(second)
        first.caller_hangs_up()
        await c.cdr(first)
    assert second.responses == [180, 486]
    assert cdr["outcome"] == "refused_capacity" and cdr["sip_codes"] == [486]


async def test_the_to_header_routes_the_call(tmp_path: Path) -> None:
    """The INVITE's To (here +442079460000) picks the entry agent with the pjsua2 transport's
    route table: billing answers, with its own voice."""
    async with chain(tmp_path, GRAPH, _scenario()) as c:
        leg = FakeLeg(to="+442079460000")
        await _answered(c, leg)
        body = c.emulated(leg).accepted
        leg.caller_hangs_up()
        cdr = await c.cdr(leg)
    assert body is not None and body["instructions"] == "You handle billing."
    assert body["audio"]["output"]["voice"] == "cedar"
    assert cdr["dialed"] == "+442079460000" and cdr["agents"] == ["billing"]
    assert cdr["transport"] == "openai-sip"


async def test_silence_gets_a_reprompt_then_the_no_input_goodbye(tmp_path: Path) -> None:
    """The graph's no-input timers run on the server's playout and VAD events: after the
    greeting has played, silence brings the reprompt, then the goodbye and a REST hangup."""
    quiet = GRAPH.replace(
        '  greeting: "Hello, test line."\n',
        '  greeting: "Hello, test line."\n'
        "  no_input: {reprompt_after_s: 0.4, reprompt: 'Are you there?', hangup_after_s: 0.8,"
        " goodbye: 'Goodbye then.'}\n",
    )
    async with chain(tmp_path, quiet, _scenario()) as c:
        leg = FakeLeg()
        await _answered(c, leg)
        cdr = await c.cdr(leg, within=15)
    assert cdr["outcome"] == "no_input" and leg.hung_up
    assert c.transcript(cdr) == [
        "assistant: Hello, test line.",
        "assistant: Are you there?",
        "assistant: Goodbye then.",
    ]
