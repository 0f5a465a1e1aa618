"""Guardrails in a running session: output trips cut the agent off; input hits act."""

from __future__ import annotations

import base64

from gateway.core.agents.agent import RealtimeAgent
from gateway.core.agents.guardrails import NoLongDigits, Phrases
from gateway.runtime import events as ev
from gateway.runtime.ports import SessionSettings
from gateway.testing.realtime_fake import ScriptedRealtime
from tests.runtime.helpers import FakePlayer, running, until


def _delta(fake: ScriptedRealtime, nbytes: int) -> None:
    fake.emit(
        "response.output_audio.delta",
        response_id="r1",
        item_id="i1",
        output_index=0,
        content_index=0,
        delta=base64.b64encode(b"\xff" * nbytes).decode(),
    )


async def test_output_trip_cancels_truncates_and_asks_to_rephrase() -> None:
    """A card number in the transcript: cancel, truncate at the heard ms, feedback, new answer."""
    agent = RealtimeAgent(
        name="billing",
        instructions="Bills.",
        output_guardrails=[NoLongDigits()],
        guardrail_debounce_chars=1,
        guardrail_feedback="Do not read card numbers.",
    )
    player = FakePlayer()
    fake = ScriptedRealtime()
    fake.expect("session.update").expect("response.create")
    fake.emit("response.created", response={"id": "r1", "status": "in_progress"})
    _delta(fake, 1600)
    async with running(agent, fake.connector, playout=player) as run:
        await until(lambda: len(player.queue) == 1)
        player.play(800)  # 100 ms heard
        fake.expect("response.cancel", response_id="r1")
        fake.expect("conversation.item.truncate", item_id="i1", audio_end_ms=100)
        fake.expect(
            "conversation.item.create",
            item={"role": "system", "content": [{"text": "Do not read card numbers."}]},
        )
        fake.emit("response.done", response={"id": "r1", "status": "cancelled"})
        fake.expect("response.create")
        fake.push(
            "response.output_audio_transcript.delta",
            response_id="r1",
            item_id="i1",
            output_index=0,
            content_index=0,
            delta="Your card number is 4242 4242 4242 4242.",
        )
        trip = await run.wait_for(ev.GuardrailTripped)
        await until(lambda: fake.sent[-1]["type"] == "response.create" and len(fake.sent) == 6)
    assert (trip.guardrail, trip.item_id, trip.heard_ms) == ("no_long_digits", "i1", 100)
    assert player.queue == []
    fake.assert_complete()


async def test_input_phrase_transfers_after_the_announcement() -> None:
    """'emergency' from the caller: the agent says the message, then a transfer is requested."""
    agent = RealtimeAgent(
        name="desk",
        instructions="Desk.",
        input_guardrails=[
            Phrases(
                ["emergency"],
                action="transfer",
                target="reception",
                message="Putting you through now.",
            )
        ],
    )
    settings = SessionSettings(transfer_targets={"reception": "sip:reception@pbx"})
    fake = ScriptedRealtime()
    fake.expect("session.update").expect("response.create")
    fake.emit("response.created", response={"id": "r0", "status": "in_progress"})
    fake.emit("response.done", response={"id": "r0", "status": "completed"})
    fake.emit(
        "conversation.item.input_audio_transcription.completed",
        item_id="u1",
        content_index=0,
        transcript="It's an emergency!",
    )
    fake.expect(
        "response.create",
        response={"instructions": "Say exactly: Putting you through now."},
    )
    fake.emit("response.created", response={"id": "r1", "status": "in_progress"})
    fake.emit("response.done", response={"id": "r1", "status": "completed"})
    async with running(agent, fake.connector, settings) as run:
        hit = await run.wait_for(ev.InputGuardrailTriggered)
        transfer = await run.wait_for(ev.TransferRequested)
    assert (hit.action, hit.target) == ("transfer", "reception")
    assert (transfer.target, transfer.uri, transfer.call_id) == (
        "reception",
        "sip:reception@pbx",
        "",
    )
    fake.assert_complete()


async def test_slow_async_guardrail_runs_off_the_event_path() -> None:
    """An async custom guardrail is awaited on the final transcript and can still trip."""
    from gateway.core.agents.guardrails import CustomOutput

    seen: list[str] = []

    async def moderation(text: str) -> str | None:
        seen.append(text)
        return "mentions the competitor" if "Acme" in text else None

    agent = RealtimeAgent(
        name="sales",
        instructions="Sell.",
        output_guardrails=[CustomOutput(moderation, "moderation")],
    )
    fake = ScriptedRealtime()
    fake.expect("session.update").expect("response.create")
    fake.emit("response.created", response={"id": "r1", "status": "in_progress"})
    fake.emit(
        "response.output_audio_transcript.done",
        response_id="r1",
        item_id="i1",
        output_index=0,
        content_index=0,
        transcript="Acme is cheaper, to be honest.",
    )
    fake.expect("response.cancel", response_id="r1")
    fake.expect("conversation.item.create", item={"role": "system"})
    async with running(agent, fake.connector) as run:
        trip = await run.wait_for(ev.GuardrailTripped)
        await until(lambda: len(fake.sent) >= 4)
    assert (trip.guardrail, trip.reason) == ("moderation", "mentions the competitor")
    assert seen == ["Acme is cheaper, to be honest."]
    fake.assert_complete()
