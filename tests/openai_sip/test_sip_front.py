"""The emulated OpenAI SIP endpoint: ringing, signed webhooks, the REST calls API, the call's media.

The REST API is driven with the official ``openai`` package (an independent client: its paths,
bodies and error mapping must fit the emulator), the webhooks are opened with its ``unwrap``.
Legs are fakes; everything else runs over loopback sockets.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import openai
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from gateway.adapters.http_client import request
from gateway.adapters.http_server import HttpServer, Request, Response
from gateway.adapters.webhook import WebhookSecret
from gateway.emulator import EmulatorServer, Scenario
from gateway.emulator.sip_front import EmulatedCall, FrontSettings, SipFront
from gateway.emulator.voice import ToneVoice, Voice, detect_word_tones
from gateway.emulator.webhooks import USER_AGENT, WebhookSettings
from tests.emulator.client import check_server_event
from tests.openai_sip.helpers import FAST, SECRET, FakeLeg, until

AUTH = {"Authorization": "Bearer sk-test"}


@dataclass
class Receiver:
    """A webhook endpoint that answers each delivery with the next scripted status."""

    statuses: list[int] = field(default_factory=list)
    deliveries: list[Request] = field(default_factory=list)

    async def __call__(self, request: Request) -> Response:
        self.deliveries.append(request)
        return Response(self.statuses.pop(0) if self.statuses else 200)


@dataclass
class Front:
    front: SipFront
    receiver: Receiver
    sdk: openai.AsyncOpenAI

    async def placed(self, leg: FakeLeg | None = None) -> tuple[FakeLeg, EmulatedCall]:
        leg = leg or FakeLeg()
        self.front.on_call(leg)
        await until(lambda: bool(self.receiver.deliveries), 5, "the webhook")
        (call,) = [c for c in self.front.calls.values() if c.leg is leg]
        return leg, call


StartFront = Callable[..., Awaitable[Front]]


@pytest.fixture
async def front() -> AsyncIterator[StartFront]:
    """``await front(**webhook_settings)``: an emulator with its SIP front and a receiver."""
    running: list[tuple[EmulatorServer, SipFront, HttpServer, openai.AsyncOpenAI]] = []

    async def start(
        ring_timeout_s: float = 60.0, voice: Voice | None = None, **webhook: Any
    ) -> Front:
        receiver = Receiver(webhook.pop("statuses", []))
        sink = HttpServer({("POST", "/hook"): receiver})
        await sink.start()
        emulator = EmulatorServer(
            Scenario(greeting="Hello there."),
            pace=FAST,
            seed=5,
            voice_factory=(lambda _scenario: voice) if voice is not None else None,
        )
        await emulator.start()
        settings = WebhookSettings(
            url=f"http://127.0.0.1:{sink.port}/hook",
            secret=WebhookSecret(SECRET),
            retry_s=0.01,
            **webhook,
        )
        sip = SipFront(
            emulator,
            FrontSettings(webhook=settings, project_id="proj_test", ring_timeout_s=ring_timeout_s),
        )
        await sip.start()
        sdk = openai.AsyncOpenAI(api_key="sk-test", base_url=sip.rest_url, max_retries=0)
        running.append((emulator, sip, sink, sdk))
        return Front(sip, receiver, sdk)

    yield start
    for emulator, sip, sink, sdk in running:
        await sdk.close()  # its pooled keep-alive connections
        await sip.stop()
        await emulator.stop()
        await sink.stop()


async def test_an_invite_rings_and_fires_a_signed_ga_webhook(front: StartFront) -> None:
    """180, then a POST that the SDK's unwrap verifies and parses as realtime.call.incoming,
    carrying the INVITE's From, To and Call-ID, with OpenAI's user agent."""
    f = await front()
    leg, call = await f.placed()
    (delivery,) = f.receiver.deliveries
    assert leg.responses == [180]
    assert delivery.headers["user-agent"] == USER_AGENT
    assert delivery.headers["content-type"] == "application/json"
    event = f.sdk.webhooks.unwrap(delivery.body, dict(delivery.headers), secret=SECRET)
    assert isinstance(event, openai.types.webhooks.RealtimeCallIncomingWebhookEvent)
    assert event.data.call_id == call.call_id and call.call_id.startswith("rtc_")
    headers = {h.name: h.value for h in event.data.sip_headers}
    assert headers == {"From": leg.caller, "To": leg.info.to_uri, "Call-ID": leg.sip_call_id}


async def test_another_project_gets_404_and_no_webhook(front: StartFront) -> None:
    """An INVITE for a user other than the project id is refused at once."""
    f = await front()
    leg = FakeLeg(project="proj_other")
    f.front.on_call(leg)
    await until(lambda: leg.responses == [404], 2, "the 404")
    await asyncio.sleep(0.05)
    assert not f.receiver.deliveries and not f.front.calls


async def test_failed_deliveries_are_retried_with_the_same_webhook_id(front: StartFront) -> None:
    """500, then no answer in time... until a 2xx: each retry keeps the webhook-id and is
    signed again (a valid signature each time)."""
    f = await front(statuses=[500, 503, 204])
    await f.placed()
    await until(lambda: len(f.receiver.deliveries) == 3, 5, "three attempts")
    ids = {d.headers["webhook-id"] for d in f.receiver.deliveries}
    assert len(ids) == 1 and f.front.webhooks.acknowledged == list(ids)
    for delivery in f.receiver.deliveries:
        f.sdk.webhooks.verify_signature(delivery.body, dict(delivery.headers), secret=SECRET)


async def test_duplicates_are_separate_messages_of_the_same_event(front: StartFront) -> None:
    """At-least-once: the duplicate fault sends the same event under a second webhook-id."""
    f = await front(duplicates=1)
    await f.placed()
    await until(lambda: len(f.receiver.deliveries) == 2, 5, "both deliveries")
    first, second = f.receiver.deliveries
    assert first.body == second.body
    assert first.headers["webhook-id"] != second.headers["webhook-id"]


async def test_rest_answers_follow_the_calls_state(front: StartFront) -> None:
    """Through the official SDK: unknown call 404; refer while ringing 409; accept with a VAD
    tuning field 400 (as the live API answers); accept 200 answers the leg; a second accept
    409; a bad refer target 400; refer 200 REFERs the caller, who is then hung up; after that
    every request 404."""
    f = await front()
    calls = f.sdk.realtime.calls
    with pytest.raises(openai.NotFoundError):
        await calls.accept("rtc_nope", type="realtime")
    leg, call = await f.placed()
    with pytest.raises(openai.ConflictError):
        await calls.refer(call.call_id, target_uri="sip:a@b")
    tuned = {"input": {"turn_detection": {"type": "server_vad", "threshold": 0.6}}}
    with pytest.raises(openai.BadRequestError, match=r"turn_detection\.threshold"):
        await calls.accept(call.call_id, type="realtime", audio=tuned)  # type: ignore[arg-type]
    assert await calls.accept(call.call_id, type="realtime", instructions="Hi.") is None
    assert leg.responses == [180, 200]
    with pytest.raises(openai.ConflictError):
        await calls.accept(call.call_id, type="realtime")
    with pytest.raises(openai.BadRequestError):
        await calls.refer(call.call_id, target_uri="mailto:x")
    await calls.refer(call.call_id, target_uri="tel:+14155550123")
    await until(lambda: leg.hung_up, 2, "the hang-up after the transfer")
    assert leg.referred == ["tel:+14155550123"] and call.ended_by == "transferred"
    for action in (calls.hangup(call.call_id), calls.reject(call.call_id)):
        with pytest.raises(openai.NotFoundError):
            await action


async def test_reject_sends_the_status_and_the_default_is_603(front: StartFront) -> None:
    """reject with 486 answers the INVITE 486; without a status it is 603 Decline."""
    f = await front()
    leg, call = await f.placed()
    await f.sdk.realtime.calls.reject(call.call_id, status_code=486)
    other, other_call = await f.placed(FakeLeg())
    await f.sdk.realtime.calls.reject(other_call.call_id)
    assert leg.responses == [180, 486] and other.responses == [180, 603]


async def test_bad_requests_without_the_sdk(front: StartFront) -> None:
    """No bearer token 401; a body that is not JSON, or an accept without type, 400."""
    f = await front()
    _, call = await f.placed()
    url = f"{f.front.rest_url}/realtime/calls/{call.call_id}/accept"
    assert (await request("POST", url, body=b"{}")).status == 401
    bad = await request("POST", url, headers=AUTH, body=b"{nope")
    assert bad.status == 400
    untyped = await request("POST", url, headers=AUTH, body=b'{"instructions": "x"}')
    assert untyped.status == 400
    assert (
        json.loads(untyped.body)["error"]["message"]
        == "Missing required parameter: 'session.type'."
    )


async def test_ring_timeout_and_caller_hang_up_end_the_call(front: StartFront) -> None:
    """Unanswered past the ring timeout: 480, then accept is 404. A caller's BYE after accept
    also makes every later request 404."""
    f = await front(ring_timeout_s=0.1)
    leg, call = await f.placed()
    await until(lambda: leg.responses == [180, 480], 2, "the 480")
    with pytest.raises(openai.NotFoundError):
        await f.sdk.realtime.calls.accept(call.call_id, type="realtime")
    other, other_call = await f.placed(FakeLeg())
    await f.sdk.realtime.calls.accept(other_call.call_id, type="realtime")
    other.caller_hangs_up()
    await until(lambda: other_call.ended_by == "caller hangup", 2, "the caller's BYE")
    with pytest.raises(openai.NotFoundError):
        await f.sdk.realtime.calls.hangup(other_call.call_id)


async def _attach(front: SipFront, call_id: str) -> Any:
    url = front.server.url + f"?call_id={call_id}"
    return await websockets.connect(url, additional_headers=AUTH)


async def _next(ws: Any, kind: str) -> dict[str, Any]:
    while True:
        event = json.loads(await asyncio.wait_for(ws.recv(), 5))
        check_server_event(event)
        if event["type"] == kind:
            return event


async def test_the_service_carries_the_audio_and_the_sideband_sees_events(
    front: StartFront,
) -> None:
    """After accept the session hears the caller (VAD on the leg's audio) and speaks into the
    leg's ring, not onto the sideband; DTMF becomes an event; a client clear empties the ring;
    hangup drops the sideband without a close frame, and re-attaching is refused."""
    f = await front()
    leg, call = await f.placed()
    await f.sdk.realtime.calls.accept(call.call_id, type="realtime")
    ws = await _attach(f.front, call.call_id)
    created = await _next(ws, "session.created")
    assert created["session"]["audio"]["output"]["format"] == {"type": "audio/pcmu"}
    await ws.send(json.dumps({"type": "response.create"}))
    await _next(ws, "output_audio_buffer.started")
    await until(lambda: leg.playout.queued_ms > 0, 2, "audio in the ring")
    await ws.send(json.dumps({"type": "output_audio_buffer.clear"}))
    await _next(ws, "output_audio_buffer.cleared")
    assert leg.playout.queued_ms == 0
    leg.press("7")
    dtmf = await _next(ws, "input_audio_buffer.dtmf_event_received")
    assert dtmf["event"] == "7" and "event_id" not in dtmf
    leg.say("hello there")
    await _next(ws, "input_audio_buffer.speech_stopped")
    await f.sdk.realtime.calls.hangup(call.call_id)
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            event = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert event["type"] != "response.output_audio.delta"  # the audio is not sent here
    assert closed.value.rcvd is None  # dropped, no close frame
    assert leg.hung_up
    again = await _attach(f.front, call.call_id)
    refused = json.loads(await again.recv())
    assert refused["error"]["code"] == "call_not_found"
    await again.close()


@pytest.mark.parametrize(
    ("accept_format", "update_format", "words_heard"),
    [
        (None, None, [0, 1]),
        (None, {"type": "audio/pcm", "rate": 24000}, None),
        ({"type": "audio/pcm", "rate": 24000}, None, None),
    ],
    ids=["g711-throughout", "pcm16-pushed-by-update", "pcm16-forced-at-accept"],
)
async def test_a_session_format_other_than_the_calls_g711_is_heard_as_static(
    front: StartFront,
    accept_format: dict[str, Any] | None,
    update_format: dict[str, Any] | None,
    words_heard: list[int] | None,
) -> None:
    """The call carries G.711, and the service does not transcode to the session's formats:
    with the default the caller hears the agent's words (two tones), but PCM16 pushed by a
    sideband session.update (openai-agents-python #2097) or forced at accept plays as G.711
    bytes, static in which no word can be made out."""
    f = await front(voice=ToneVoice())
    leg, call = await f.placed()
    session: dict[str, Any] = {"type": "realtime"}
    if accept_format is not None:
        session["audio"] = {"output": {"format": accept_format}}
    await f.sdk.realtime.calls.accept(call.call_id, **session)
    ws = await _attach(f.front, call.call_id)
    await _next(ws, "session.created")
    if update_format is not None:
        update = {"type": "realtime", "audio": {"output": {"format": update_format}}}
        await ws.send(json.dumps({"type": "session.update", "session": update}))
        await _next(ws, "session.updated")
    await ws.send(json.dumps({"type": "response.create"}))
    await _next(ws, "output_audio_buffer.stopped")
    await ws.close()
    heard = detect_word_tones(bytes(leg.heard), 8000)
    if words_heard is not None:
        assert heard == words_heard
    else:
        assert heard != [0, 1]
        assert leg.heard_ms() > 0  # not silence: noise
