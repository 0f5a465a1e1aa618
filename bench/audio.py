"""Audio core cost per 20 ms frame, with the raw audioop call beside each as the baseline.

Run: ``make bench`` or ``.venv/bin/python bench/audio.py``. Target: each wrapper within 1.5x of
raw audioop (the wrappers add one Python call and, for the resampler, state handling).
"""

from __future__ import annotations

import math
import struct
import timeit
from collections.abc import Callable

from gateway.core.audio import AudioCodec, Framer, Resampler, pcm16_to_ulaw, ulaw_to_pcm16
from gateway.core.audio._audioop import audioop

TARGET = 1.5
N = 20_000


def _tone(rate: int) -> bytes:
    n = rate // 50
    return struct.pack(
        f"<{n}h", *(int(8000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(n))
    )


PCM8 = _tone(8000)  # 320 B
PCM24 = _tone(24000)  # 960 B
ULAW = audioop.lin2ulaw(PCM8, 2)  # 160 B


def _ns(fn: Callable[[], object]) -> float:
    best = min(timeit.repeat(fn, number=N, repeat=5))
    return best / N * 1e9


def _raw_ratecv(in_rate: int, out_rate: int, data: bytes) -> Callable[[], object]:
    state: list[object] = [None]

    def run() -> object:
        out, state[0] = audioop.ratecv(data, 2, 1, in_rate, out_rate, state[0])
        return out

    return run


def _raw_slicing(chunk: bytes, size: int) -> Callable[[], object]:
    buf = bytearray()

    def run() -> object:
        buf.extend(chunk)
        frames = [bytes(buf[i : i + size]) for i in range(0, len(buf) - len(buf) % size, size)]
        del buf[: len(frames) * size]
        return frames

    return run


def main() -> int:
    up, down = Resampler(8000, 24000), Resampler(24000, 8000)
    framer_exact, framer_odd = Framer.for_codec(AudioCodec.PCMU), Framer.for_codec(AudioCodec.PCMU)
    odd = ULAW[:100]
    rows = [
        ("decode ulaw->pcm16", lambda: ulaw_to_pcm16(ULAW), lambda: audioop.ulaw2lin(ULAW, 2)),
        ("encode pcm16->ulaw", lambda: pcm16_to_ulaw(PCM8), lambda: audioop.lin2ulaw(PCM8, 2)),
        ("resample 8k->24k", lambda: up.process(PCM8), _raw_ratecv(8000, 24000, PCM8)),
        ("resample 24k->8k", lambda: down.process(PCM24), _raw_ratecv(24000, 8000, PCM24)),
        ("frame 160 B chunks", lambda: framer_exact.push(ULAW), _raw_slicing(ULAW, 160)),
        ("frame 100 B chunks", lambda: framer_odd.push(odd), _raw_slicing(odd, 160)),
    ]
    print(f"{'per 20 ms frame':<22}{'ours ns':>10}{'baseline ns':>13}{'ratio':>8}")
    worst = 0.0
    for name, ours, raw in rows:
        a, b = _ns(ours), _ns(raw)
        worst = max(worst, a / b)
        print(f"{name:<22}{a:>10.0f}{b:>13.0f}{a / b:>8.2f}")
    verdict = "meets" if worst <= TARGET else "MISSES"
    print(f"worst ratio {worst:.2f} ({verdict} the {TARGET}x target)")
    print("baseline: raw audioop for codecs/resampling; plain bytearray slicing for framing")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
