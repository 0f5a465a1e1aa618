"""Known test signals and their analysis, for proving audio crossed a real call.

Pure functions on PCM16 8 kHz bytes: a sine tone cut into 20 ms frames, and a report of what a
recording contains (level, zero-crossing frequency, and the share of its energy at a given
frequency by the Goertzel algorithm, 1.0 for a clean tone).

The share is the median over 100 ms blocks: two independent sample clocks (one per process)
make the jitter buffer drop or repeat a frame now and then, and the phase jump that causes
would spoil a single Goertzel window over the whole recording, though every block still holds
a clean tone.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass

from gateway.core.audio._audioop import audioop

__all__ = ["ToneReport", "analyse", "tone_frames"]

RATE = 8000
BLOCK_SAMPLES = 800  # 100 ms


def tone_frames(freq_hz: float, duration_ms: int, amplitude: int = 8000) -> list[bytes]:
    """A continuous sine at ``freq_hz``, as 20 ms PCM16 8 kHz frames."""
    count = duration_ms // 20
    step = 2 * math.pi * freq_hz / RATE
    samples = array("h", (round(amplitude * math.sin(step * n)) for n in range(count * 160)))
    raw = samples.tobytes()
    return [raw[i * 320 : (i + 1) * 320] for i in range(count)]


@dataclass(frozen=True, slots=True)
class ToneReport:
    """What a PCM16 8 kHz recording contains."""

    seconds: float
    rms: int
    zero_cross_hz: float
    share: dict[int, float]
    """Median over 100 ms blocks of the energy share at each probed frequency (0.0..1.0)."""


def analyse(pcm: bytes, probe_hz: tuple[int, ...] = ()) -> ToneReport:
    """Level, zero-crossing frequency and per-frequency energy share of ``pcm``."""
    samples = len(pcm) // 2
    seconds = samples / RATE
    if samples == 0:
        return ToneReport(0.0, 0, 0.0, dict.fromkeys(probe_hz, 0.0))
    crossings = audioop.cross(pcm, 2)
    return ToneReport(
        seconds=seconds,
        rms=audioop.rms(pcm, 2),
        zero_cross_hz=crossings / 2 / seconds,
        share={f: _median_share(pcm, f) for f in probe_hz},
    )


def _median_share(pcm: bytes, freq_hz: float) -> float:
    block = BLOCK_SAMPLES * 2
    shares = sorted(_energy_share(pcm[i : i + block], freq_hz) for i in range(0, len(pcm), block))
    return shares[len(shares) // 2]


def _energy_share(pcm: bytes, freq_hz: float) -> float:
    x = array("h", pcm)
    energy = sum(v * v for v in x)
    if energy == 0:
        return 0.0
    coeff = 2 * math.cos(2 * math.pi * freq_hz / RATE)
    s1 = s2 = 0.0
    for v in x:
        s1, s2 = v + coeff * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - coeff * s1 * s2
    return min(1.0, 2 * power / (len(x) * energy))
