"""CPU per call-second: voicegw's runtime vs the openai-agents RealtimeSession, same calls.

N simulated calls talk to the emulator (a separate process) for D seconds each: the caller
streams 20 ms μ-law frames in real time (a 1 s burst of speech-like tone every 6 s, silence
otherwise); the emulator's VAD hears the bursts and the model answers with several seconds of
audio, generated faster than real time. Each implementation runs in its own process and must
deliver the answer audio to a 20 ms playout clock (as a phone line would), so both do the same
work; we read the process's CPU time with ``resource.getrusage``. Another process runs the
harness alone (pacing and clock, no connection); the net ratio leaves its share out of both.

Needs the optional ``openai-agents`` package: ``pip install -e '.[bench]'``.
The SDK connects with websockets' defaults, which offer permessage-deflate; voicegw's client
does not (base64 audio barely compresses). Whether api.openai.com accepts that offer is not
documented, so the SDK runs twice: against an emulator that declines it (``--ws-compression
none``: both sides send plain frames, the like-for-like figure) and against one that accepts it
(the emulator's default: the SDK then compresses every append and inflates every delta).
A bare ``websockets`` client (send the appends, decode the deltas, nothing else) runs too: the
floor that any Python runtime on websockets pays, so the SDK's CPU over it bounds the ratio any
such runtime could reach. One run of each varies by about 15 % from the next on this machine,
so ``--rounds`` (3) runs of the five are interleaved and the medians and each round's ratio
are printed.
Run: ``.venv/bin/python bench/compare_sdk.py [--calls 10] [--seconds 20] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import resource
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from gateway.core.audio import pcm16_to_ulaw

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = """
caller_transcripts: []
fallback: "Thanks for that. Here is a fairly long answer, so that there is plenty of audio to
  stream back to the caller on every turn of this simulated phone call, just like a real
  assistant would give when it explains something step by step."
"""
BURST = pcm16_to_ulaw(
    struct.pack(
        "<8000h", *(int(9000 * math.sin(2 * math.pi * 300 * i / 8000)) for i in range(8000))
    )
)
SILENCE = b"\xff" * 160


def caller_frame(n: int) -> bytes:
    """Frame ``n`` of the caller's side: 1 s of tone every 6 s (a turn), else silence."""
    position = n % 300
    return BURST[position * 160 : position * 160 + 160] if position < 50 else SILENCE


class Clock(threading.Thread):
    """A phone line's playout clock: every 20 ms take 160 bytes from each call's buffer."""

    def __init__(self, buffers: list[bytearray], lock: threading.Lock) -> None:
        super().__init__(daemon=True)
        self.buffers, self.lock, self.stop = buffers, lock, threading.Event()
        self.played = 0

    def run(self) -> None:
        start, tick = time.monotonic(), 0
        while not self.stop.is_set():
            tick += 1
            time.sleep(max(0.0, start + tick * 0.02 - time.monotonic()))
            with self.lock:
                for buf in self.buffers:
                    if buf:
                        del buf[:160]
                        self.played += 1


async def _pace(seconds: float, sends: list[Any]) -> None:
    """One shared 20 ms timeline feeds every call (one wake-up per tick, as pjmedia's clock
    does), so the harness costs the same small amount for both implementations."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    for n in range(int(seconds * 50)):
        await asyncio.sleep(max(0.0, start + n * 0.02 - loop.time()))
        frame = caller_frame(n)
        for send in sends:
            await send(frame)


async def run_voicegw(url: str, calls: int, seconds: float) -> dict[str, Any]:
    from gateway.adapters.realtime_ws import RealtimeEndpoint, connector
    from gateway.adapters.sip.media import PlayoutRing
    from gateway.app.media_bridge import PlayoutFeeder
    from gateway.core.agents.agent import CallContext, RealtimeAgent
    from gateway.core.audio import AudioCodec
    from gateway.runtime.session import RealtimeSession

    rings = [PlayoutRing() for _ in range(calls)]
    stop = threading.Event()

    def clock() -> None:
        start, tick = time.monotonic(), 0
        while not stop.is_set():
            tick += 1
            time.sleep(max(0.0, start + tick * 0.02 - time.monotonic()))
            for ring in rings:
                ring.next_frame()

    thread = threading.Thread(target=clock, daemon=True)
    thread.start()
    endpoint = RealtimeEndpoint(base_url=url, model="gpt-realtime", api_key="bench")
    agent = RealtimeAgent(name="desk", instructions="Desk.")
    sessions = [
        RealtimeSession(
            agent,
            CallContext(call_id=f"c{n}"),
            connector(endpoint),
            playout=PlayoutFeeder(rings[n], AudioCodec.PCMU),
        )
        for n in range(calls)
    ]
    async with asyncio.TaskGroup() as tg:
        for session in sessions:
            tg.create_task(session.run())
        await asyncio.gather(*(s.wait_ready() for s in sessions))
        before = resource.getrusage(resource.RUSAGE_SELF)
        await _pace(seconds, [s.send_audio for s in sessions])
        after = resource.getrusage(resource.RUSAGE_SELF)
        for session in sessions:
            await session.close()
    stop.set()
    played = sum(r.counters().played for r in rings)
    return _result(before, after, calls, seconds, played)


async def run_sdk(url: str, calls: int, seconds: float) -> dict[str, Any]:
    from agents.realtime import RealtimeAgent, RealtimeRunner

    buffers = [bytearray() for _ in range(calls)]
    lock = threading.Lock()
    clock = Clock(buffers, lock)
    clock.start()
    agent = RealtimeAgent(name="desk", instructions="Desk.")
    settings = {
        "model_name": "gpt-realtime",
        "input_audio_format": "g711_ulaw",
        "output_audio_format": "g711_ulaw",
        "turn_detection": {"type": "server_vad", "interrupt_response": True},
    }

    sessions: list[Any] = []
    readers: list[asyncio.Task[None]] = []

    async def consume(n: int, session: Any) -> None:
        async for event in session:
            if event.type == "audio":
                with lock:
                    buffers[n] += event.audio.data
            elif event.type == "audio_interrupted":
                with lock:
                    buffers[n].clear()

    for n in range(calls):
        # one runner per call: a runner owns one model connection
        runner = RealtimeRunner(agent, config={"model_settings": settings})  # type: ignore[typeddict-item]
        session = await runner.run(
            model_config={"url": f"{url}?model=gpt-realtime", "api_key": "bench"}
        )
        await session.__aenter__()
        sessions.append(session)
        readers.append(asyncio.create_task(consume(n, session)))
    await asyncio.sleep(1.0)  # let every session configure
    before = resource.getrusage(resource.RUSAGE_SELF)
    await _pace(seconds, [s.send_audio for s in sessions])
    after = resource.getrusage(resource.RUSAGE_SELF)
    for reader in readers:
        reader.cancel()
    for session in sessions:
        await session.close()
    clock.stop.set()
    return _result(before, after, calls, seconds, clock.played)


async def run_websockets(url: str, calls: int, seconds: float) -> dict[str, Any]:
    """The floor of any Python runtime on ``websockets``: a bare client per call that sends
    the appends and decodes the answer's deltas into the playout buffer, and nothing else (no
    state machine, history, transcripts, tools or guardrails)."""
    import base64

    from websockets.asyncio.client import connect

    buffers = [bytearray() for _ in range(calls)]
    lock = threading.Lock()
    clock = Clock(buffers, lock)
    clock.start()
    session = {
        "type": "realtime",
        "audio": {
            "input": {"format": {"type": "audio/pcmu"}, "turn_detection": {"type": "server_vad"}},
            "output": {"format": {"type": "audio/pcmu"}},
        },
    }
    sockets = []
    for _ in range(calls):
        ws = await connect(
            f"{url}?model=gpt-realtime",
            additional_headers={"Authorization": "Bearer bench"},
            compression=None,
            max_size=None,
        )
        await ws.send(json.dumps({"type": "session.update", "session": session}))
        await ws.send(json.dumps({"type": "response.create"}))
        sockets.append(ws)

    async def read(n: int, ws: Any) -> None:
        async for message in ws:
            event = json.loads(message)
            kind = event["type"]
            if kind == "response.output_audio.delta":
                with lock:
                    buffers[n] += base64.b64decode(event["delta"])
            elif kind == "input_audio_buffer.speech_started":
                with lock:
                    buffers[n].clear()
            elif kind == "error":
                raise RuntimeError(f"the emulator refused the bare client: {event}")

    def sender(ws: Any) -> Any:
        async def send(frame: bytes) -> None:
            audio = base64.b64encode(frame).decode()
            await ws.send(f'{{"type":"input_audio_buffer.append","audio":"{audio}"}}')

        return send

    readers = [asyncio.create_task(read(n, ws)) for n, ws in enumerate(sockets)]
    await asyncio.sleep(1.0)
    before = resource.getrusage(resource.RUSAGE_SELF)
    await _pace(seconds, [sender(ws) for ws in sockets])
    after = resource.getrusage(resource.RUSAGE_SELF)
    for reader in readers:
        if reader.done():
            reader.result()  # an error event or a lost socket: no figure
        reader.cancel()
    for ws in sockets:
        await ws.close()
    clock.stop.set()
    return _result(before, after, calls, seconds, clock.played)


async def run_harness(_url: str, calls: int, seconds: float) -> dict[str, Any]:
    """The harness alone (the caller's pacing and the playout clock, no connection): the
    floor both implementations' figures include, subtracted for the net ratio."""
    buffers = [bytearray() for _ in range(calls)]
    clock = Clock(buffers, threading.Lock())
    clock.start()

    async def discard(_frame: bytes) -> None:
        return None

    before = resource.getrusage(resource.RUSAGE_SELF)
    await _pace(seconds, [discard] * calls)
    after = resource.getrusage(resource.RUSAGE_SELF)
    clock.stop.set()
    return _result(before, after, calls, seconds, clock.played)


def _result(before: Any, after: Any, calls: int, seconds: float, played: int) -> dict[str, Any]:
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return {"cpu_s": cpu, "call_seconds": calls * seconds, "frames_played": played}


WORKERS = ("voicegw", "sdk", "websockets", "harness")
# (label, worker, emulator): the SDK offers permessage-deflate (websockets' default) and pays
# for it wherever the server accepts; voicegw never offers it, so one emulator serves it.
RUNS = (
    ("voicegw", "voicegw", "none"),
    ("sdk", "sdk", "none"),
    ("sdk+deflate", "sdk", "deflate"),
    ("websockets", "websockets", "none"),
    ("harness", "harness", "none"),
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_emulator(scenario: Path, compression: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.app.cli", "--log-level", "warning", "emulator",
         "--port", str(port), "--scenario", str(scenario), "--ws-compression", compression],
        cwd=ROOT,
    )  # fmt: skip
    return proc, f"ws://127.0.0.1:{port}/v1/realtime"


def _nets(theirs: list[float], ours: list[float], floor: list[float]) -> list[float]:
    """Each round's ratio with the harness's own CPU taken out of both."""
    return [(t - f) / max(1e-9, o - f) for t, o, f in zip(theirs, ours, floor, strict=True)]


def _ratios(sdk: list[float], ours: list[float], floor: list[float]) -> str:
    ratios = [s / o for s, o in zip(sdk, ours, strict=True)]
    nets = _nets(sdk, ours, floor)
    return (
        f"{statistics.median(ratios):.1f}x (rounds {min(ratios):.1f}-{max(ratios):.1f}x); "
        f"{statistics.median(nets):.1f}x without the harness's own share"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=3, help="runs of each, interleaved")
    parser.add_argument("--worker", choices=WORKERS)
    parser.add_argument("--url")
    args = parser.parse_args()
    if args.worker:
        from gateway.observability.logging import configure_logging

        configure_logging("json", level="warning")
        run = {
            "voicegw": run_voicegw,
            "sdk": run_sdk,
            "websockets": run_websockets,
            "harness": run_harness,
        }[args.worker]
        print(json.dumps(asyncio.run(run(args.url, args.calls, args.seconds))))
        return 0
    scenario = ROOT / "var" / "bench-compare-scenario.yaml"
    scenario.parent.mkdir(exist_ok=True)
    scenario.write_text(SCENARIO)
    emulators = {mode: _start_emulator(scenario, mode) for mode in ("none", "deflate")}
    cpu: dict[str, list[float]] = {label: [] for label, _, _ in RUNS}
    played: dict[str, list[int]] = {label: [] for label, _, _ in RUNS}
    try:
        time.sleep(2.0)
        for _ in range(args.rounds):  # interleaved, so drift in the machine hits all of them
            for label, worker, mode in RUNS:
                out = subprocess.run(
                    [sys.executable, __file__, "--worker", worker, "--url", emulators[mode][1],
                     "--calls", str(args.calls), "--seconds", str(args.seconds)],
                    capture_output=True, text=True, check=True, cwd=ROOT,
                )  # fmt: skip
                result = json.loads(out.stdout.strip().splitlines()[-1])
                cpu[label].append(result["cpu_s"])
                played[label].append(result["frames_played"])
    finally:
        for proc, _url in emulators.values():
            proc.terminate()
            proc.wait(10)
    call_seconds = args.calls * args.seconds
    print(
        f"{args.calls} concurrent calls x {args.seconds:g} s against the emulator, "
        f"{args.rounds} rounds (median; each round's CPU seconds in brackets)"
    )
    for label, _, _ in RUNS:
        pct = 100 * statistics.median(cpu[label]) / call_seconds
        rounds = ", ".join(f"{c:.2f}" for c in cpu[label])
        print(
            f"  {label:<12} {pct:.2f} % of a core per call [{rounds}] "
            f"({statistics.median(played[label]):.0f} frames played)"
        )
    print("openai-agents uses this much of voicegw's CPU per call (target >= 3x):")
    ours, floor = cpu["voicegw"], cpu["harness"]
    print(f"  no compression on either side: {_ratios(cpu['sdk'], ours, floor)}")
    print(
        "  the SDK's default permessage-deflate, accepted by the server: "
        f"{_ratios(cpu['sdk+deflate'], ours, floor)}"
    )
    print("  (whether api.openai.com accepts permessage-deflate is not documented)")
    print(
        "the most any Python runtime on websockets could reach, the SDK against a bare client "
        f"(no compression): {_ratios(cpu['sdk'], cpu['websockets'], floor)}"
    )
    bare = statistics.median(_nets(ours, cpu["websockets"], floor))
    print(f"voicegw's runtime over a bare client, net of the harness: {bare:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
