"""RealtimeSession against the scripted fake: what goes on the wire for each agent behaviour."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest

from gateway.core.agents.agent import RealtimeAgent, function_tool, handoff
from gateway.core.agents.builtins import end_call_tool, transfer_call_tool
from gateway.core.agents.spec import SessionDefaults
from gateway.runtime import events as ev
from gateway.runtime.ports import ConnectionLost, SessionSettings
from gateway.runtime.session import RealtimeSession
from gateway.testing.realtime_fake import ScriptedRealtime
from tests.realtime_contract import assert_ga_client_event
from tests.runtime.helpers import CTX, FakePlayer, running, until


@function_tool
def get_hours(day: str = "monday") -> dict[str, str]:
    """Opening hours for a day."""
    return {day: "9 to 5"}


@function_tool(timeout_s=0.2)
async def slow_lookup() -> str:
    """Never answers in time."""
    await asyncio.sleep(5)
    return "late"


@function_tool
def broken() -> str:
    """Always fails."""
    raise RuntimeError("database is down")


def _agent(**kw: Any) -> RealtimeAgent:
    return RealtimeAgent(name="desk", instructions="Answer for {caller}.", **kw)


def _call(fake: ScriptedRealtime, name: str, args: str, call_id: str = "call_1") -> None:
    fake.emit("response.created", response={"id": "resp_t", "status": "in_progress"})
    fake.emit(
        "response.function_call_arguments.done",
        response_id="resp_t",
        item_id="item_fc",
        output_index=0,
        call_id=call_id,
        name=name,
        arguments=args,
    )
    fake.emit("response.done", response={"id": "resp_t", "status": "completed"})


def _greeted(fake: ScriptedRealtime) -> ScriptedRealtime:
    fake.expect("session.update").expect("response.create")
    fake.emit("response.created", response={"id": "resp_g", "status": "in_progress"})
    fake.emit("response.done", response={"id": "resp_g", "status": "completed"})
    return fake


def _output_of(fake: ScriptedRealtime, call_id: str) -> Any:
    """The function_call_output sent for ``call_id``, JSON-decoded when it is JSON."""
    for event in fake.sent:
        item = event.get("item", {})
        if item.get("type") == "function_call_output" and item.get("call_id") == call_id:
            try:
                return json.loads(item["output"])
            except ValueError:
                return item["output"]
    raise AssertionError(f"no output for {call_id}")


async def test_connect_configures_the_agent_and_greets() -> None:
    """First a full GA session.update (formats, VAD, tools, instructions with the caller), then
    the greeting as a verbatim response.create."""
    fake = ScriptedRealtime()
    fake.expect(
        "session.update",
        session={
            "type": "realtime",
            "instructions": "Answer for +441234.",
            "audio": {
                "input": {"format": {"type": "audio/pcmu"}},
                "output": {"format": {"type": "audio/pcmu"}, "voice": "marin"},
            },
            "tools": [{"type": "function", "name": "get_hours"}],
        },
    )
    fake.expect("response.create", response={"instructions": "Say exactly: Hi!"})
    settings = SessionSettings(greeting="Hi!")
    async with running(_agent(tools=[get_hours]), fake.connector, settings) as run:
        await until(lambda: len(fake.sent) == 2)
        await run.wait_for(ev.AgentStarted)
    fake.assert_complete()
    for event in fake.sent:
        assert_ga_client_event(event)


async def test_tool_call_round_trip() -> None:
    """A function call runs the tool, returns its JSON output and asks for a response."""
    fake = _greeted(ScriptedRealtime())
    _call(fake, "get_hours", '{"day": "friday"}')
    fake.expect(
        "conversation.item.create", item={"type": "function_call_output", "call_id": "call_1"}
    )
    fake.expect("response.create")
    async with running(_agent(tools=[get_hours]), fake.connector) as run:
        ended = await run.wait_for(ev.ToolEnded)
    assert ended.ok
    assert _output_of(fake, "call_1") == {"friday": "9 to 5"}
    fake.assert_complete()


@pytest.mark.parametrize(
    ("tool", "expected"),
    [
        (slow_lookup, "slow_lookup timed out after 0.2 s"),
        (broken, "broken failed: RuntimeError: database is down"),
    ],
)
async def test_failing_tools_return_errors_and_the_call_continues(tool: Any, expected: str) -> None:
    """A tool that hangs or raises gives the model an error result, then a response."""
    fake = _greeted(ScriptedRealtime())
    _call(fake, tool.name, "{}")
    fake.expect("conversation.item.create").expect("response.create")
    async with running(_agent(tools=[tool]), fake.connector) as run:
        ended = await run.wait_for(ev.ToolEnded)
    assert not ended.ok
    assert _output_of(fake, "call_1") == {"error": expected}
    fake.assert_complete()


class _Unprintable:
    def __repr__(self) -> str:
        return "<unprintable>"

    def __str__(self) -> str:
        raise ValueError("no text form")


@function_tool
def odd_result() -> Any:
    """Returns what JSON cannot hold."""
    return {"codes": {3, 1}, "raw": b"\x00\xff", "thing": _Unprintable()}


@function_tool
def huge_result() -> str:
    """Returns far more text than a model should get."""
    return "x" * 100_000


async def test_a_result_json_cannot_hold_reaches_the_model_as_its_repr() -> None:
    """Sets, bytes, an object whose str() raises: the model gets the repr; the call goes on."""
    fake = _greeted(ScriptedRealtime())
    _call(fake, "odd_result", "{}")
    fake.expect("conversation.item.create").expect("response.create")
    async with running(_agent(tools=[odd_result]), fake.connector) as run:
        assert (await run.wait_for(ev.ToolEnded)).ok
    odd = _output_of(fake, "call_1")
    assert set(odd) == {"result"} and "<unprintable>" in odd["result"]
    fake.assert_complete()


async def test_an_oversized_result_is_cut_before_the_model_gets_it() -> None:
    fake = _greeted(ScriptedRealtime())
    _call(fake, "huge_result", "{}")
    fake.expect("conversation.item.create").expect("response.create")
    async with running(_agent(tools=[huge_result]), fake.connector) as run:
        await run.wait_for(ev.ToolEnded)
    huge = _output_of(fake, "call_1")
    assert isinstance(huge, str) and len(huge) < 8100 and huge.endswith("[truncated]")
    fake.assert_complete()


async def test_invalid_arguments_are_reported_to_the_model() -> None:
    """Arguments that break the schema are refused with the reason, without running the tool."""
    fake = _greeted(ScriptedRealtime())
    _call(fake, "get_hours", '{"day": 5}')
    fake.expect("conversation.item.create").expect("response.create")
    async with running(_agent(tools=[get_hours]), fake.connector) as run:
        await run.wait_for(ev.ToolEnded)
    assert _output_of(fake, "call_1") == {
        "error": "invalid arguments: day: 5 is not of type 'string'"
    }


async def test_unknown_tool_gets_an_error_output() -> None:
    """A call to a tool the agent does not have is answered with an error, not ignored."""
    fake = _greeted(ScriptedRealtime())
    _call(fake, "launch_rockets", "{}")
    fake.expect("conversation.item.create").expect("response.create")
    async with running(_agent(), fake.connector):
        await until(lambda: len(fake.sent) >= 4)
    assert _output_of(fake, "call_1") == {"error": "unknown tool 'launch_rockets'"}
    fake.assert_complete()


async def test_handoff_updates_instructions_and_tools_but_not_formats() -> None:
    """transfer_to_billing: output, a sparse session.update (no formats, no VAD), a response."""
    billing = RealtimeAgent(name="billing", instructions="Bills only.", voice="cedar")
    triage = _agent(handoffs=[handoff(billing)])
    fake = _greeted(ScriptedRealtime())
    _call(fake, "transfer_to_billing", "{}")
    fake.expect("conversation.item.create", item={"type": "function_call_output"})
    fake.expect("session.update", session={"instructions": "Bills only.", "tools": []})
    fake.expect("response.create")
    async with running(triage, fake.connector) as run:
        done = await run.wait_for(ev.HandoffDone)
        await until(lambda: len(fake.sent) >= 5)
    assert (done.from_agent, done.to_agent) == ("desk", "billing")
    update = [e for e in fake.sent if e["type"] == "session.update"][1]["session"]
    assert set(update) == {"type", "instructions", "tools", "audio"}
    assert update["audio"] == {"output": {"voice": "cedar"}}  # no audio yet: voice may change
    assert run.session.agent.name == "billing"
    fake.assert_complete()


async def test_voice_stays_after_audio_was_produced() -> None:
    """After the model has spoken, a handoff keeps the first voice (the API locks it)."""
    billing = RealtimeAgent(name="billing", instructions="Bills.", voice="cedar")
    fake = ScriptedRealtime()
    fake.expect("session.update").expect("response.create")
    fake.emit("response.created", response={"id": "r1", "status": "in_progress"})
    fake.emit(
        "response.output_audio.delta",
        response_id="r1",
        item_id="i1",
        output_index=0,
        content_index=0,
        delta=base64.b64encode(b"\xff" * 160).decode(),
    )
    fake.emit("response.done", response={"id": "r1", "status": "completed"})
    _call(fake, "transfer_to_billing", "{}")
    fake.expect("conversation.item.create").expect("session.update").expect("response.create")
    async with running(_agent(handoffs=[billing]), fake.connector) as run:
        await run.wait_for(ev.HandoffDone)
        await until(lambda: len(fake.sent) >= 5)
    update = [e for e in fake.sent if e["type"] == "session.update"][1]["session"]
    assert "audio" not in update
    fake.assert_complete()


async def test_barge_in_truncates_at_what_the_player_played() -> None:
    """Caller speech mid-answer: the player is flushed and the item truncated at played ms."""
    player = FakePlayer()
    fake = ScriptedRealtime()
    fake.expect("session.update").expect("response.create")
    fake.emit("response.created", response={"id": "r1", "status": "in_progress"})
    for _ in range(10):
        fake.emit(
            "response.output_audio.delta",
            response_id="r1",
            item_id="i1",
            output_index=0,
            content_index=0,
            delta=base64.b64encode(b"\xff" * 800).decode(),
        )
    async with running(_agent(), fake.connector, playout=player) as run:
        await until(lambda: len(player.queue) == 10)
        player.play(2440)  # 305 ms heard
        fake.expect("conversation.item.truncate", item_id="i1", content_index=0, audio_end_ms=305)
        fake.push("input_audio_buffer.speech_started", audio_start_ms=900, item_id="u1")
        interrupted = await run.wait_for(ev.AudioInterruptedEvent)
        await until(lambda: any(e["type"] == "conversation.item.truncate" for e in fake.sent))
    assert interrupted.audio_end_ms == 305
    assert player.queue == []
    assert not any(e["type"] == "response.cancel" for e in fake.sent)  # the server cancels
    fake.assert_complete()


async def test_reconnect_replays_history_and_carries_on() -> None:
    """A dropped socket: reconnect, full session.update, history replayed as text items."""
    fake = ScriptedRealtime()
    fake.expect("session.update").expect("response.create")
    fake.emit("response.created", response={"id": "r1", "status": "in_progress"})
    fake.emit(
        "conversation.item.done",
        item={
            "id": "a1",
            "type": "message",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_audio", "transcript": "Hello, how can I help?"}],
        },
    )
    fake.emit("response.done", response={"id": "r1", "status": "completed"})
    fake.emit(
        "conversation.item.input_audio_transcription.completed",
        item_id="u1",
        content_index=0,
        transcript="What time do you open?",
    )
    fake.drop()
    fake.expect("session.update", session={"instructions": "Answer for +441234."})
    fake.expect("conversation.item.create", item={"role": "assistant"})
    fake.expect("conversation.item.create", item={"role": "user"})
    fake.expect("response.create")
    settings = SessionSettings(reconnect_deadline_s=2.0)
    async with running(_agent(), fake.connector, settings) as run:
        back = await run.wait_for(ev.Reconnected)
    assert back.replayed_items == 2
    assert fake.connections == 2
    replayed = [e["item"] for e in fake.sent if e["type"] == "conversation.item.create"]
    assert replayed[0]["content"] == [{"type": "output_text", "text": "Hello, how can I help?"}]
    assert replayed[1]["content"] == [{"type": "input_text", "text": "What time do you open?"}]
    fake.assert_complete()
    for event in fake.sent:
        assert_ga_client_event(event)


async def test_reconnect_gives_up_after_the_deadline() -> None:
    """If the model cannot be reached again, SessionFailed tells the phone layer to fall back."""
    fake = ScriptedRealtime()
    fake.expect("session.update").expect("response.create").drop()
    attempts = 0

    async def flaky() -> Any:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            return await fake.connector()
        from gateway.runtime.ports import ConnectionLost

        raise ConnectionLost("connection refused")

    settings = SessionSettings(reconnect_deadline_s=0.5)
    async with running(_agent(), flaky, settings) as run:
        failed = await run.wait_for(ev.SessionFailed)
    assert "connection lost" in failed.reason
    assert len(run.of(ev.Reconnecting)) >= 2


async def test_end_call_waits_for_the_goodbye_to_be_heard() -> None:
    """end_call: output at once, hang-up only after response.done and the player drained."""
    player = FakePlayer()
    fake = ScriptedRealtime()
    fake.expect("session.update").expect("response.create")
    fake.emit("response.created", response={"id": "r1", "status": "in_progress"})
    fake.emit(
        "response.output_audio.delta",
        response_id="r1",
        item_id="bye",
        output_index=0,
        content_index=0,
        delta=base64.b64encode(b"\xff" * 1600).decode(),
    )
    fake.emit(
        "response.function_call_arguments.done",
        response_id="r1",
        item_id="fc",
        output_index=1,
        call_id="c_end",
        name="end_call",
        arguments='{"reason": "caller done"}',
    )
    fake.emit("response.done", response={"id": "r1", "status": "completed"})
    fake.expect("conversation.item.create", item={"call_id": "c_end"})
    async with running(_agent(tools=[end_call_tool()]), fake.connector, playout=player) as run:
        await until(lambda: len(fake.sent) == 3)
        await asyncio.sleep(0.1)
        assert run.of(ev.EndCallRequested) == []  # goodbye not heard yet
        player.play_all()
        hangup = await run.wait_for(ev.EndCallRequested)
    assert hangup.reason == "caller done"
    assert player.heard == {"bye": 1600}
    fake.assert_complete()


async def test_failed_transfer_is_told_to_the_agent() -> None:
    """transfer_call: TransferRequested after playout; a failure goes back as output + response."""
    targets = {"reception": "sip:reception@pbx"}
    settings = SessionSettings(transfer_targets=targets)
    fake = _greeted(ScriptedRealtime())
    _call(fake, "transfer_call", '{"target": "reception"}', call_id="c_x")
    agent = _agent(tools=[transfer_call_tool(targets)])
    async with running(agent, fake.connector, settings) as run:
        request = await run.wait_for(ev.TransferRequested)
        assert (request.target, request.uri) == ("reception", "sip:reception@pbx")
        fake.expect("conversation.item.create", item={"call_id": "c_x"}).expect("response.create")
        await run.session.transfer_result("c_x", ok=False, detail="486 Busy Here")
        await until(lambda: len(fake.sent) >= 4)
    assert _output_of(fake, "c_x") == {
        "status": "failed",
        "target": "reception",
        "detail": "486 Busy Here",
    }
    fake.assert_complete()


async def test_confirm_approval_asks_the_caller_first() -> None:
    """approval=confirm: the first call is refused, asking to confirm; the repeat runs."""

    @function_tool(approval="confirm")
    def cancel_booking(ref: str) -> str:
        """Cancel a booking."""
        return f"cancelled {ref}"

    fake = _greeted(ScriptedRealtime())
    _call(fake, "cancel_booking", '{"ref": "B1"}', call_id="c1")
    fake.expect("conversation.item.create", item={"call_id": "c1"}).expect("response.create")
    _call(fake, "cancel_booking", '{"ref": "B1"}', call_id="c2")
    fake.expect("conversation.item.create", item={"call_id": "c2"}).expect("response.create")
    async with running(_agent(tools=[cancel_booking]), fake.connector) as run:
        await run.wait_for(ev.ToolEnded)
    assert _output_of(fake, "c1")["status"] == "needs_confirmation"
    assert _output_of(fake, "c2") == "cancelled B1"
    fake.assert_complete()


async def test_pcm16_sessions_ask_for_pcm16_formats() -> None:
    """With audio_format audio/pcm the session asks for 24 kHz PCM both ways."""
    fake = ScriptedRealtime()
    fake.expect(
        "session.update",
        session={"audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000}}}},
    )
    fake.expect("response.create")
    settings = SessionSettings(defaults=SessionDefaults(audio_format="audio/pcm"))  # type: ignore[arg-type]
    async with running(_agent(), fake.connector, settings):
        await until(lambda: len(fake.sent) == 2)
    fake.assert_complete()


async def test_speech_after_the_answer_was_heard_is_not_a_barge_in() -> None:
    """The player played everything: caller speech must not flush, truncate or interrupt."""
    player = FakePlayer()
    fake = ScriptedRealtime()
    fake.expect("session.update").expect("response.create")
    fake.emit("response.created", response={"id": "r1", "status": "in_progress"})
    fake.emit(
        "response.output_audio.delta",
        response_id="r1",
        item_id="i1",
        output_index=0,
        content_index=0,
        delta=base64.b64encode(b"\xff" * 800).decode(),
    )
    fake.emit("response.output_audio.done", response_id="r1", item_id="i1")
    fake.emit("response.done", response={"id": "r1", "status": "completed"})
    async with running(_agent(), fake.connector, playout=player) as run:
        await until(lambda: len(player.queue) == 1)
        player.play_all()
        fake.push("input_audio_buffer.speech_started", audio_start_ms=500, item_id="u1")
        await run.wait_for(ev.CallerSpeech)
        await asyncio.sleep(0.05)
    assert run.of(ev.AudioInterruptedEvent) == []
    assert not any(e["type"] == "conversation.item.truncate" for e in fake.sent)
    fake.assert_complete()


async def test_update_history_deletes_dropped_items_and_creates_new_ones() -> None:
    """update_history: items not kept are deleted; new items are created after the last kept."""
    from gateway.core.realtime.history import HistoryItem

    fake = _greeted(ScriptedRealtime())
    fake.emit(
        "conversation.item.done",
        item={
            "id": "u1",
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "hi"}],
        },
    )
    fake.emit(
        "conversation.item.done",
        item={
            "id": "a1",
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "hello"}],
        },
    )
    async with running(_agent(), fake.connector) as run:
        await until(lambda: len(run.session.history.items) == 2)
        kept = run.session.history.get("u1")
        assert kept is not None
        fake.expect("conversation.item.delete", item_id="a1")
        fake.expect(
            "conversation.item.create",
            previous_item_id="u1",
            item={
                "id": "n1",
                "role": "system",
                "content": [{"type": "input_text", "text": "VIP caller"}],
            },
        )
        await run.session.update_history(
            [kept, HistoryItem("n1", "system", "message", text="VIP caller")]
        )
        await until(lambda: len(fake.sent) >= 4)
    fake.assert_complete()
    for event in fake.sent:
        assert_ga_client_event(event)


class _SlowConnector:
    """A connector whose handshake takes until ``release`` is set (or forever)."""

    def __init__(self, fake: ScriptedRealtime, *, finishes_when_cancelled: bool = False) -> None:
        self.fake = fake
        self.release = asyncio.Event()
        self.started = asyncio.Event()
        self.cancelled = False
        self.conns: list[Any] = []
        self._finish = finishes_when_cancelled

    async def __call__(self) -> Any:
        self.started.set()
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            if not self._finish:
                raise
        conn = await self.fake.connector()
        self.conns.append(conn)
        return conn


async def _closed_while_connecting(connector: _SlowConnector) -> tuple[Any, asyncio.Task[None]]:
    session = RealtimeSession(_agent(), CTX, connector)
    run = asyncio.create_task(session.run())
    await connector.started.wait()
    await session.close()
    return session, run


async def test_close_while_connecting_stops_the_connect() -> None:
    """A call that ends during the WebSocket handshake (CANCEL while ringing, setup timeout)
    does not wait for it, and no session is configured or greeted behind it."""
    fake = ScriptedRealtime()
    connector = _SlowConnector(fake)
    _session, run = await _closed_while_connecting(connector)
    async with asyncio.timeout(1):
        await run
    assert connector.cancelled
    assert fake.connections == 0
    assert fake.sent == []


async def test_a_connection_that_opens_after_close_is_shut() -> None:
    """A handshake that completes although the session closed: the socket is closed at once and
    nothing (no session.update, no greeting) is sent on it."""
    fake = ScriptedRealtime()
    connector = _SlowConnector(fake, finishes_when_cancelled=True)
    session, run = await _closed_while_connecting(connector)
    async with asyncio.timeout(1):
        await run
    assert connector.cancelled
    [conn] = connector.conns
    with pytest.raises(ConnectionLost):
        await conn.send("{}")  # closed
    assert fake.sent == []
    events = []
    async for event in session.events():
        events.append(event)
    assert not [e for e in events if isinstance(e, ev.SessionFailed)]


class _Refused:
    """A connection the service closes at once for its credentials (code 3000)."""

    async def send(self, message: str) -> None:
        pass

    async def recv(self) -> str:
        raise ConnectionLost("authentication refused (3000: invalid_request_error)", final=True)

    async def close(self) -> None:
        pass


async def test_a_final_connection_loss_fails_the_session_without_reconnecting() -> None:
    """A bad API key (close 3000) would be refused again: the session fails at once, so the
    phone layer falls back, instead of reconnecting until the deadline."""
    opened = 0

    async def refused() -> Any:
        nonlocal opened
        opened += 1
        return _Refused()

    async with running(_agent(), refused, SessionSettings(reconnect_deadline_s=5)) as run:
        failed = await run.wait_for(ev.SessionFailed, within=1.0)
    assert "authentication refused" in failed.reason
    assert opened == 1
    assert run.of(ev.Reconnecting) == []
