"""In-process pieces for OpenAI SIP tests: a fake SIP leg, the whole chain on loopback, recording.

:class:`FakeLeg` is a :class:`~gateway.app.phone.PhoneLeg` without pjsua2: a clock task plays
its ring (20 ms a frame, as pjmedia's clock would) and keeps what the "caller" heard;
``say`` puts synthetic speech into its uplink. :func:`chain` starts, on loopback sockets,
the emulator (WebSocket + REST calls API + webhook sender, SIP front fed by fake legs) and an
:class:`OpenAISipGateway`, and records every sideband event both ways, GA-checked.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from gateway.adapters.realtime_ws import RealtimeEndpoint, open_connection
from gateway.adapters.sip.media import FRAME_BYTES, PlayoutRing, UplinkQueue
from gateway.adapters.webhook import WebhookSecret
from gateway.app.agents import build_agent_graph
from gateway.app.config import load_graph_file
from gateway.app.openai_sip import WEBHOOK_PATH, OpenAISipGateway, OpenAISipSettings
from gateway.app.phone import LegEvent, TransferOutcome
from gateway.emulator import EmulatorServer, Pace
from gateway.emulator.scenario import parse_scenario
from gateway.emulator.sip_front import EmulatedCall, FrontSettings, SipFront
from gateway.emulator.voice import SyntheticVoice
from gateway.emulator.webhooks import WebhookSettings
from gateway.runtime.ports import Connection
from tests.realtime_contract import assert_ga_client_event, assert_ga_server_event

SECRET = "whsec_" + "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY="  # base64 of a 32-byte key
FAST = Pace(chunk_ms=200, gap_ms=5, latency_ms=0)
SILENCE = bytes(FRAME_BYTES)


class FakeLeg:
    """A SIP leg in memory; the emulator's SIP front drives it as it would a pjsua2 call."""

    _count = 0

    def __init__(
        self, project: str = "proj_test", caller: str = "+441632960001", to: str = ""
    ) -> None:
        FakeLeg._count += 1
        self.call_id = f"fake-{FakeLeg._count}"
        self.sip_call_id = f"{FakeLeg._count}-abc@127.0.0.1"
        self.caller = f"<sip:{caller}@127.0.0.1>;tag=t{FakeLeg._count}"
        self.dialed = f"sip:{project}@127.0.0.1:5080"
        self.info = SimpleNamespace(to_uri=f"<sip:{to}@127.0.0.1>" if to else f"<{self.dialed}>")
        self.uplink = UplinkQueue(capacity_ms=60_000)
        self.playout = PlayoutRing()
        self.events: asyncio.Queue[LegEvent] = asyncio.Queue()
        self.responses: list[int] = []
        self.hung_up = False
        self.unplayed_at_hangup_ms: int | None = None
        self.referred: list[str] = []
        self.transfer_outcome = TransferOutcome(True, 200, "200 OK")
        self.heard = bytearray()
        self._clock: asyncio.Task[None] | None = None

    async def ringing(self) -> None:
        self.responses.append(180)

    async def answer(self) -> bool:
        self.responses.append(200)
        self._clock = asyncio.ensure_future(self._play())
        self.events.put_nowait(LegEvent("media_active"))
        return True

    async def reject(self, status: int, *, retry_after: int | None = None) -> bool:
        self.responses.append(status)
        return True

    async def hangup(self) -> None:
        self.hung_up = True
        self.unplayed_at_hangup_ms = self.playout.queued_ms
        self.stop()

    async def transfer(self, uri: str) -> TransferOutcome:
        self.referred.append(uri)
        return self.transfer_outcome

    # the caller's side ---------------------------------------------------------------------

    def say(self, text: str, silence_ms: int = 800) -> None:
        """Speak ``text`` (synthetic voice) followed by silence, into the uplink at once."""
        pcm = SyntheticVoice().synthesize(text, 8000, 1.0).pcm
        pcm += bytes(-len(pcm) % FRAME_BYTES) + bytes(silence_ms * 16)
        for i in range(0, len(pcm), FRAME_BYTES):
            self.uplink.put(pcm[i : i + FRAME_BYTES])

    def press(self, digit: str) -> None:
        self.events.put_nowait(LegEvent("dtmf", digit))

    def caller_cancels(self) -> None:
        """CANCEL before the call was answered."""
        self.events.put_nowait(LegEvent("cancelled", "487 Request Terminated"))

    def caller_hangs_up(self) -> None:
        self.events.put_nowait(LegEvent("hangup", "200 BYE"))
        self.stop()

    def heard_ms(self) -> int:
        """Non-silent audio the caller heard, in ms."""
        frames = [self.heard[i : i + FRAME_BYTES] for i in range(0, len(self.heard), FRAME_BYTES)]
        return sum(20 for f in frames if f != SILENCE)

    async def _play(self) -> None:
        loop = asyncio.get_running_loop()
        start, tick = loop.time(), 0
        while True:
            tick += 1
            await asyncio.sleep(max(0.0, start + tick * 0.02 - loop.time()))
            self.heard += self.playout.next_frame()
            if self.uplink.queued == 0:  # a phone line sends silence between words too
                self.uplink.put(SILENCE)

    def stop(self) -> None:
        if self._clock is not None:
            self._clock.cancel()


@dataclass
class Sideband:
    """Every sideband event both ways (GA-checked), per call id."""

    sent: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    received: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    async def open(self, endpoint: RealtimeEndpoint) -> Connection:
        conn = await open_connection(endpoint)
        call_id = str(endpoint.call_id)
        return _Recording(
            conn, self.sent.setdefault(call_id, []), self.received.setdefault(call_id, [])
        )

    def types(self, call_id: str, *, sent: bool = False) -> list[str]:
        events = (self.sent if sent else self.received).get(call_id, [])
        return [e["type"] for e in events]


class _Recording:
    def __init__(self, conn: Connection, sent: list[Any], received: list[Any]) -> None:
        self._conn, self._sent, self._received = conn, sent, received

    async def send(self, message: str) -> None:
        event = json.loads(message)
        assert_ga_client_event(event)
        self._sent.append(event)
        await self._conn.send(message)

    async def recv(self) -> str | bytes:
        raw = await self._conn.recv()
        event = json.loads(raw)
        assert_ga_server_event(event)
        self._received.append(event)
        return raw

    async def close(self) -> None:
        await self._conn.close()


@dataclass
class Chain:
    emulator: EmulatorServer
    front: SipFront
    gateway: OpenAISipGateway
    sideband: Sideband
    workdir: Path

    def call(self, leg: FakeLeg) -> None:
        self.front.on_call(leg)

    def emulated(self, leg: FakeLeg) -> EmulatedCall:
        (call,) = [c for c in self.front.calls.values() if c.leg is leg]
        return call

    def cdrs(self) -> list[dict[str, Any]]:
        path = self.workdir / "cdr" / "cdr.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]

    async def cdr(self, leg: FakeLeg, within: float = 10.0) -> dict[str, Any]:
        def found() -> list[dict[str, Any]]:
            return [c for c in self.cdrs() if c["sip_call_id"] == leg.sip_call_id]

        await until(lambda: bool(found()), within, "the call's CDR")
        (cdr,) = found()
        return cdr

    def transcript(self, cdr: dict[str, Any]) -> list[str]:
        return Path(cdr["transcript_file"]).read_text().splitlines()


async def until(predicate: Callable[[], bool], within: float = 10.0, what: str = "") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def chain(
    workdir: Path,
    graph_yaml: str,
    scenario_yaml: str,
    *,
    webhook: dict[str, Any] | None = None,
    gateway: dict[str, Any] | None = None,
) -> AsyncIterator[Chain]:
    """The emulated OpenAI side and an OpenAI SIP gateway, wired together on loopback."""
    graph_file = workdir / "graph.yaml"
    graph_file.write_text(graph_yaml)
    graph = build_agent_graph(load_graph_file(graph_file).spec)
    scenario = parse_scenario(scenario_yaml, "scenario.yaml")
    sideband = Sideband()
    async with EmulatorServer(scenario, pace=FAST, seed=3) as emulator:
        front = SipFront(
            emulator,
            FrontSettings(
                webhook=WebhookSettings(url="http://unset", secret=WebhookSecret(SECRET)),
                project_id="proj_test",
            ),
        )
        await front.start()
        settings = OpenAISipSettings(
            config=graph_file,
            webhook_secret=WebhookSecret(SECRET),
            realtime_url=emulator.url,
            api_base=front.rest_url,
            api_key="sk-test-key-0123456789",
            http_port=0,
            cdr_dir=workdir / "cdr",
            opener=sideband.open,
            drain_timeout_s=1.0,
            **(gateway or {}),
        )
        gw = OpenAISipGateway(settings, graph)
        await gw.start()
        url = f"http://127.0.0.1:{gw.port}{WEBHOOK_PATH}"
        options = {"url": url, "secret": WebhookSecret(SECRET), "retry_s": 0.05, **(webhook or {})}
        front.webhooks.settings = WebhookSettings(**options)
        try:
            yield Chain(emulator, front, gw, sideband, workdir)
        finally:
            await gw.shutdown()
            await front.stop()
