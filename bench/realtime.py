"""Realtime client path cost per 20 ms audio frame, and events/s one core sustains.

Uplink:   PCM16 8 kHz frame -> μ-law -> base64 -> append JSON -> websocket send
Downlink: websocket recv -> JSON parse (fast path) -> protocol -> base64 decode -> playout
          feeder (decode to PCM16, 20 ms framing, ring push)

Both run against a peer in a *separate process* over loopback, so the figures are this
process's CPU only (``time.process_time``). Also: parse + protocol throughput in a tight loop
for a realistic event mix, with stdlib ``json`` (and ``orjson`` beside it if installed; it is
not a dependency: the figures say whether it would be worth one).

Run: ``.venv/bin/python bench/realtime.py``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import multiprocessing
import time
from typing import Any

from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

from gateway.adapters.sip.media import PlayoutRing
from gateway.app.media_bridge import PlayoutFeeder
from gateway.core.audio import AudioCodec, pcm16_to_ulaw
from gateway.core.realtime.protocol import SessionProtocol
from gateway.core.realtime.wire import parse_server_event
from gateway.core.realtime.wire_client import append_audio_json

FRAMES = 5000
FRAME_PCM = bytes(range(256)) + bytes(64)  # 320 bytes of PCM16, not silence
ULAW_B64 = base64.b64encode(pcm16_to_ulaw(FRAME_PCM)).decode()


def _delta(i: int) -> str:
    return json.dumps(
        {
            "type": "response.output_audio.delta",
            "event_id": f"event_{i}",
            "response_id": "resp_1",
            "item_id": "item_1",
            "output_index": 0,
            "content_index": 0,
            "delta": ULAW_B64,
        }
    )


async def _peer(port_box: Any) -> None:
    async def handler(ws: ServerConnection) -> None:
        mode = await ws.recv()
        if mode == "sink":
            async for _ in ws:
                pass
        else:
            for i in range(FRAMES):
                await ws.send(_delta(i))
            await ws.send('{"type":"bench.end"}')
            await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0, compression=None) as server:
        port_box.value = next(iter(server.sockets)).getsockname()[1]
        await asyncio.Future()


def _run_peer(port_box: Any) -> None:
    asyncio.run(_peer(port_box))


async def _uplink(url: str) -> float:
    async with connect(url, compression=None) as ws:
        await ws.send("sink")
        start = time.process_time()
        for _ in range(FRAMES):
            ulaw = pcm16_to_ulaw(FRAME_PCM)
            await ws.send(append_audio_json(base64.b64encode(ulaw).decode("ascii")))
        return (time.process_time() - start) / FRAMES


async def _downlink(url: str) -> float:
    protocol = SessionProtocol(AudioCodec.PCMU)
    ring = PlayoutRing(capacity_ms=FRAMES * 20 + 1000)
    feeder = PlayoutFeeder(ring, AudioCodec.PCMU)
    async with connect(url, compression=None, max_size=None) as ws:
        await ws.send("source")
        start = time.process_time()
        while True:
            raw = await ws.recv()
            event = parse_server_event(raw)
            if event.type == "bench.end":
                break
            for action in protocol.receive(event):
                audio = getattr(action, "audio", None)
                if audio is not None:
                    feeder.push("item_1", audio)
        spent = time.process_time() - start
    assert ring.counters().pushed == FRAMES
    return spent / FRAMES


def _throughput(loads: Any) -> tuple[float, float]:
    """(events/s parsed + applied, µs per audio delta parse) for a realistic mix."""
    mix = [_delta(i) for i in range(40)] + [
        json.dumps(
            {
                "type": "response.output_audio_transcript.delta",
                "event_id": "e",
                "response_id": "resp_1",
                "item_id": "item_1",
                "output_index": 0,
                "content_index": 0,
                "delta": "hello ",
            }
        )
    ] * 10
    protocol = SessionProtocol(AudioCodec.PCMU)
    rounds = 400
    start = time.process_time()
    for _ in range(rounds):
        for raw in mix:
            protocol.receive(parse_server_event(raw))
    per_event = (time.process_time() - start) / (rounds * len(mix))
    raw = mix[0]
    n = 20000
    start = time.process_time()
    for _ in range(n):
        loads(raw)
    return 1 / per_event, (time.process_time() - start) / n * 1e6


def main() -> int:
    ctx = multiprocessing.get_context("spawn")
    port_box = ctx.Value("i", 0)
    peer = ctx.Process(target=_run_peer, args=(port_box,), daemon=True)
    peer.start()
    while port_box.value == 0:
        time.sleep(0.01)
    url = f"ws://127.0.0.1:{port_box.value}"
    try:
        up = asyncio.run(_uplink(url))
        down = asyncio.run(_downlink(url))
    finally:
        peer.terminate()
    rate, json_us = _throughput(json.loads)
    print(f"uplink   per 20 ms frame (encode, base64, JSON, send):            {up * 1e6:7.1f} µs")
    print(f"downlink per 20 ms frame (recv, parse, protocol, decode, ring):   {down * 1e6:7.1f} µs")
    print(f"events/s on one core (parse + protocol, 80% audio deltas):       {rate:9.0f}")
    print(f"json.loads of one audio delta (stdlib):                          {json_us:7.2f} µs")
    try:
        import orjson
    except ImportError:
        print("orjson not installed: no faster codec compared (stdlib json is the codec used)")
    else:
        print(
            f"orjson.loads of one audio delta:                                 "
            f"{_throughput(orjson.loads)[1]:7.2f} µs"
        )
    share = 100 * json_us / (down * 1e6)
    print(f"JSON parsing is {share:.0f}% of the downlink per-frame cost")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
