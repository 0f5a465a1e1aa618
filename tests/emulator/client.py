"""A raw-JSON Realtime test client that holds both sides to the GA contract.

Every server event received is checked with :func:`assert_ga_server_event`; every client event
sent is checked with :func:`assert_ga_client_event` unless the test sends a deliberately bad one
with :meth:`RealtimeClient.send_raw`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import time
from array import array
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from gateway.core.audio import pcm16_to_ulaw
from tests.realtime_contract import assert_ga_client_event, assert_ga_server_event

AUTH = {"Authorization": "Bearer sk-test-emulator"}


def check_server_event(event: dict[str, Any]) -> None:
    """The GA contract check; session echoes must also carry OpenAI's documented extras
    (``object``, ``id``, ``expires_at``), which the contract checker verifies when present."""
    if event.get("type") in ("session.created", "session.updated"):
        assert {"object", "id", "expires_at"} <= event["session"].keys()
    assert_ga_server_event(event)


class RealtimeClient:
    """A connected client; keeps every event it received in :attr:`events`."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        self.arrival: list[float] = []

    async def send(self, event: dict[str, Any]) -> None:
        assert_ga_client_event(event)
        await self.ws.send(json.dumps(event))

    async def send_raw(self, message: str | bytes | dict[str, Any]) -> None:
        """Send without the client-side contract check (for refusal tests)."""
        await self.ws.send(json.dumps(message) if isinstance(message, dict) else message)

    async def recv(self, within: float = 5.0) -> dict[str, Any]:
        event = json.loads(await asyncio.wait_for(self.ws.recv(), within))
        check_server_event(event)
        self.events.append(event)
        self.arrival.append(time.monotonic())
        return event

    async def until(self, kind: str, within: float = 5.0) -> list[dict[str, Any]]:
        """Receive up to and including the first event of type ``kind``; return them all."""
        got: list[dict[str, Any]] = []
        while not got or got[-1]["type"] != kind:
            got.append(await self.recv(within))
        return got

    async def expect(self, kind: str, within: float = 5.0) -> dict[str, Any]:
        """The next event, which must be of type ``kind``."""
        event = await self.recv(within)
        assert event["type"] == kind, f"expected {kind}, got {event}"
        return event

    async def update(self, session: dict[str, Any]) -> dict[str, Any]:
        """``session.update`` (``type: realtime`` added) and its ``session.updated``."""
        await self.send({"type": "session.update", "session": {"type": "realtime", **session}})
        return (await self.expect("session.updated"))["session"]

    async def append(self, audio: bytes, chunk: int = 160) -> None:
        """Append encoded audio in ``chunk``-byte events (20 ms of G.711 by default)."""
        for offset in range(0, len(audio), chunk):
            piece = audio[offset : offset + chunk]
            await self.send({"type": "input_audio_buffer.append", "audio": b64(piece)})

    async def say_text(self, text: str) -> None:
        """A user text item, then ``response.create``."""
        await self.send(
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": text}],
                },
            }
        )
        await self.send({"type": "response.create"})


@asynccontextmanager
async def connect(
    url: str, query: str = "?model=gpt-realtime", headers: dict[str, str] | None = None
) -> AsyncIterator[RealtimeClient]:
    """Connect, and (for a normal session) read the ``session.created`` that comes first."""
    async with websockets.connect(url + query, additional_headers=headers or AUTH) as ws:
        client = RealtimeClient(ws)
        first = await client.recv()
        assert first["type"] == "session.created", first
        yield client


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text)


def tone(ms: int, hz: float = 440.0, amplitude: int = 8000, rate: int = 8000) -> bytes:
    """A PCM16 sine tone."""
    count = rate * ms // 1000
    samples = (round(amplitude * math.sin(2 * math.pi * hz * i / rate)) for i in range(count))
    return array("h", samples).tobytes()


def silence(ms: int, rate: int = 8000) -> bytes:
    return b"\x00\x00" * (rate * ms // 1000)


def ulaw(pcm: bytes) -> bytes:
    return pcm16_to_ulaw(pcm)


PCMU_SESSION: dict[str, Any] = {
    "audio": {
        "input": {"format": {"type": "audio/pcmu"}},
        "output": {"format": {"type": "audio/pcmu"}},
    }
}
