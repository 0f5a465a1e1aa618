"""The agent runtime against the emulator over real loopback WebSockets (issue 3's contract).

Every client event the runtime sends is checked against the official GA types, and so is every
server event the emulator sends back.
"""

from __future__ import annotations

import asyncio
import json
import math
import struct
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.adapters.realtime_ws import RealtimeEndpoint, WebSocketConnection, open_connection
from gateway.core.agents.agent import RealtimeAgent, function_tool
from gateway.core.agents.guardrails import NoLongDigits, Phrases
from gateway.core.agents.spec import SessionDefaults, TurnDetectionSettings
from gateway.core.audio import pcm16_to_ulaw
from gateway.emulator.scenario import parse_scenario
from gateway.emulator.server import EmulatorServer
from gateway.runtime import events as ev
from gateway.runtime.ports import Connection, SessionSettings
from tests.realtime_contract import assert_ga_client_event, assert_ga_server_event
from tests.runtime.helpers import FakePlayer, Running, running, until

SCENARIO = """
greeting: "Thanks for calling. How can I help?"
caller_transcripts:
  - "this is an emergency"
rules:
  - caller: "hours"
    call: {name: get_hours, arguments: {day: "monday"}}
  - tool_result: get_hours
    say: "We are open {result.monday} on Monday."
  - caller: "billing"
    handoff: billing
  - caller: "card"
    say: "Your card number is 4111 1111 1111 1111, is that right?"
  - caller: "broken"
    call: {name: broken}
  - tool_result: broken
    say: "Sorry, that did not work."
  - caller: "slow"
    call: {name: slow_lookup}
  - tool_result: slow_lookup
    say: "That took too long."
  - caller: "story"
    say: "Once upon a time there was a very long answer that took many seconds to say, with
      plenty of words in it so that the caller would surely want to interrupt it before the
      end, which is exactly what happens in this test of barge in on the phone line."
fallback: "Sorry, I did not catch that."
"""


@function_tool
def get_hours(day: str) -> dict[str, str]:
    """Opening hours."""
    return {day: "9 to 5"}


@function_tool
def broken() -> str:
    """Fails."""
    raise RuntimeError("backend down")


@function_tool(timeout_s=0.3)
async def slow_lookup() -> str:
    """Hangs."""
    await asyncio.sleep(10)
    return "never"


class Recorder:
    """Wraps each connection to record (and GA-check) what goes both ways."""

    def __init__(self, url: str) -> None:
        self.endpoint = RealtimeEndpoint(base_url=url, model="gpt-realtime", api_key="test-key")
        self.sent: list[dict[str, Any]] = []
        self.received: list[dict[str, Any]] = []
        self.connections: list[WebSocketConnection] = []

    async def connect(self) -> Connection:
        conn = await open_connection(self.endpoint)
        assert isinstance(conn, WebSocketConnection)
        self.connections.append(conn)
        return _Recording(conn, self)

    def sent_of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.sent if e["type"] == kind]

    def received_of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.received if e["type"] == kind]


class _Recording:
    def __init__(self, conn: WebSocketConnection, rec: Recorder) -> None:
        self._conn, self._rec = conn, rec

    async def send(self, message: str) -> None:
        event = json.loads(message)
        assert_ga_client_event(event)
        if event["type"] != "input_audio_buffer.append":
            self._rec.sent.append(event)
        await self._conn.send(message)

    async def recv(self) -> str | bytes:
        raw = await self._conn.recv()
        event = json.loads(raw)
        assert_ga_server_event(event)
        if event["type"] != "response.output_audio.delta":
            self._rec.received.append(event)
        return raw

    async def close(self) -> None:
        await self._conn.close()


@pytest.fixture
async def emulator() -> AsyncIterator[EmulatorServer]:
    async with EmulatorServer(parse_scenario(SCENARIO)) as server:
        yield server


def _settings(**kw: Any) -> SessionSettings:
    turn = TurnDetectionSettings(silence_duration_ms=300, prefix_padding_ms=100)
    return SessionSettings(defaults=SessionDefaults(turn_detection=turn), **kw)


def _agent(**kw: Any) -> RealtimeAgent:
    return RealtimeAgent(name="desk", instructions="You answer for {caller}.", **kw)


def _speech_ulaw(ms: int, silence_ms: int) -> bytes:
    """A loud 300 Hz burst then silence, μ-law 8 kHz: what the VAD takes for an utterance."""
    n = 8 * ms
    tone = struct.pack(
        f"<{n}h", *(int(9000 * math.sin(2 * math.pi * 300 * i / 8000)) for i in range(n))
    )
    return pcm16_to_ulaw(tone) + b"\xff" * (8 * silence_ms)


async def _answered(run: Running, rec: Recorder, count: int = 1) -> None:
    await run.wait_for(ev.ResponseFinished, lambda e: len(run.of(ev.ResponseFinished)) >= count)


async def test_greeting_is_spoken(emulator: EmulatorServer) -> None:
    """The session configures the agent and the model speaks the greeting as audio."""
    rec = Recorder(emulator.url)
    player = FakePlayer()
    async with running(_agent(), rec.connect, _settings(greeting="Hello!"), playout=player) as run:
        transcript = await run.wait_for(ev.TranscriptUpdated, lambda e: e.role == "assistant")
        await _answered(run, rec)
    assert transcript.text == "Hello!"
    assert sum(n for _, n in player.queue) > 8 * 300  # at least 300 ms of μ-law audio
    updated = rec.received_of("session.updated")[-1]["session"]
    assert updated["audio"]["output"]["format"] == {"type": "audio/pcmu"}
    assert updated["instructions"] == "You answer for +441234."


async def test_tool_call_round_trip(emulator: EmulatorServer) -> None:
    """Caller asks; the model calls get_hours; the runtime answers; the model speaks the result."""
    rec = Recorder(emulator.url)
    async with running(_agent(tools=[get_hours]), rec.connect, _settings()) as run:
        await _answered(run, rec)
        await run.session.send_message("What are your hours?")
        ended = await run.wait_for(ev.ToolEnded)
        said = await run.wait_for(
            ev.TranscriptUpdated, lambda e: e.role == "assistant" and "Monday" in e.text
        )
    assert ended.ok
    assert said.text == "We are open 9 to 5 on Monday."
    outputs = [e["item"] for e in rec.sent_of("conversation.item.create")]
    assert {"type": "function_call_output", "call_id": outputs[-1]["call_id"]}.items() <= outputs[
        -1
    ].items()


async def test_handoff_changes_agent_and_leaves_formats(emulator: EmulatorServer) -> None:
    """transfer_to_billing: a sparse session.update; the session keeps μ-law both ways."""
    billing = RealtimeAgent(name="billing", instructions="Billing only.")
    rec = Recorder(emulator.url)
    async with running(_agent(handoffs=[billing]), rec.connect, _settings()) as run:
        await _answered(run, rec)
        await run.session.send_message("I need billing")
        done = await run.wait_for(ev.HandoffDone)
        await until(lambda: len(rec.received_of("session.updated")) >= 2)
    assert (done.from_agent, done.to_agent) == ("desk", "billing")
    update = rec.sent_of("session.update")[-1]["session"]
    assert "audio" not in update
    assert update["instructions"] == "Billing only."
    effective = rec.received_of("session.updated")[-1]["session"]
    assert effective["audio"]["input"]["format"] == {"type": "audio/pcmu"}
    assert effective["audio"]["output"]["format"] == {"type": "audio/pcmu"}
    assert effective["audio"]["input"]["turn_detection"]["silence_duration_ms"] == 300


@pytest.mark.parametrize(
    ("ask", "error"),
    [
        ("broken please", "broken failed: RuntimeError: backend down"),
        ("slow please", "slow_lookup timed out after 0.3 s"),
    ],
)
async def test_failing_tools_keep_the_call_going(
    emulator: EmulatorServer, ask: str, error: str
) -> None:
    """A tool that raises or times out gives the model an error; it answers; the call goes on."""
    rec = Recorder(emulator.url)
    async with running(_agent(tools=[broken, slow_lookup]), rec.connect, _settings()) as run:
        await _answered(run, rec)
        await run.session.send_message(ask)
        ended = await run.wait_for(ev.ToolEnded)
        await run.wait_for(
            ev.TranscriptUpdated,
            lambda e: e.role == "assistant" and ("Sorry" in e.text or "too long" in e.text),
        )
    assert not ended.ok
    assert json.loads(ended.output) == {"error": error}


async def test_output_guardrail_cancels_truncates_and_feeds_back(emulator: EmulatorServer) -> None:
    """The model reads a card number: cancel, truncate at what was played, feedback, new answer."""
    agent = _agent(output_guardrails=[NoLongDigits()], guardrail_debounce_chars=1)
    rec = Recorder(emulator.url)
    player = FakePlayer()
    async with running(agent, rec.connect, _settings(), playout=player) as run:
        await _answered(run, rec)
        player.play_all()
        await run.session.send_message("read my card")
        trip = await run.wait_for(ev.GuardrailTripped)
        await until(lambda: len(rec.sent_of("response.create")) >= 3)
        await until(lambda: bool(rec.received_of("conversation.item.truncated")))
    assert trip.guardrail == "no_long_digits"
    assert rec.sent_of("response.cancel")
    truncate = rec.sent_of("conversation.item.truncate")[-1]
    assert truncate["audio_end_ms"] == trip.heard_ms == 0
    feedback = rec.sent_of("conversation.item.create")[-1]["item"]
    assert feedback["role"] == "system"


async def test_input_guardrail_transfers(emulator: EmulatorServer) -> None:
    """The caller says 'emergency' (an audio turn): the runtime asks for a transfer."""
    agent = _agent(
        input_guardrails=[
            Phrases(["emergency"], action="transfer", target="desk", message="Connecting you.")
        ]
    )
    rec = Recorder(emulator.url)
    settings = _settings(transfer_targets={"desk": "sip:desk@pbx"})
    async with running(agent, rec.connect, settings) as run:
        await _answered(run, rec)
        await run.session.send_audio(_speech_ulaw(600, 600))
        hit = await run.wait_for(ev.InputGuardrailTriggered)
        transfer = await run.wait_for(ev.TransferRequested, within=5)
    assert (hit.action, hit.target) == ("transfer", "desk")
    assert transfer.uri == "sip:desk@pbx"


async def test_barge_in_truncates_at_the_played_millisecond(emulator: EmulatorServer) -> None:
    """Mid-answer caller speech: the player is flushed and the item truncated at exactly the
    played bytes / 8 ms; the server cuts its copy there too."""
    rec = Recorder(emulator.url)
    player = FakePlayer()
    async with running(_agent(), rec.connect, _settings(), playout=player) as run:
        await _answered(run, rec)
        player.play_all()
        await run.session.send_message("tell me a story")
        await until(lambda: sum(n for _, n in player.queue) > 8 * 3000)
        player.play(8 * 1234 + 5)  # 1234 ms and 5 bytes heard
        await run.session.send_audio(_speech_ulaw(300, 400))
        interrupted = await run.wait_for(ev.AudioInterruptedEvent, within=5)
        await until(lambda: bool(rec.received_of("conversation.item.truncated")))
    assert interrupted.cause == "speech"
    assert interrupted.audio_end_ms == 1234
    assert rec.received_of("conversation.item.truncated")[-1]["audio_end_ms"] == 1234
    assert player.queue == []
    story = run.session.history.get(interrupted.item_id or "")
    assert story is not None and story.audio_end_ms == 1234


async def test_killed_socket_reconnects_and_replays_history(emulator: EmulatorServer) -> None:
    """The socket dies mid-call: a new session, the history replayed as text, and it carries on."""
    rec = Recorder(emulator.url)
    async with running(_agent(tools=[get_hours]), rec.connect, _settings()) as run:
        await _answered(run, rec)
        await run.session.send_message("What are your hours?")
        await run.wait_for(ev.TranscriptUpdated, lambda e: "Monday" in e.text)
        rec.connections[0]._ws.transport.abort()  # the network fails
        back = await run.wait_for(ev.Reconnected, within=5)
        await run.session.send_message("and billing?")
        await run.wait_for(ev.TranscriptUpdated, lambda e: "did not catch" in e.text, within=5)
    assert len(emulator.sessions) == 2
    assert back.replayed_items >= 4  # greeting, question, tool call + output, answer
    replay = [e["item"] for e in rec.sent_of("conversation.item.create")]
    texts = [c.get("text") for item in replay for c in item.get("content", [])]
    assert "What are your hours?" in texts
    assert "We are open 9 to 5 on Monday." in texts
