"""Small signal helpers for the emulator's speech: filtered resampling, a noise floor, pauses.

Pure functions on PCM16 mono bytes, computed with ``audioop`` (C speed, no numpy):

* :func:`resample` changes the rate with a windowed-sinc low-pass first (down) or after (up),
  so espeak-ng's 22.05 kHz speech reaches 8 kHz without aliasing and 8 kHz telephone audio
  reaches the recogniser's 16 kHz without spectral images;
* :func:`add_noise_floor` mixes in quiet white noise: the recogniser's acoustic model was
  trained on recordings that always have some, and digital silence (or an empty 4-8 kHz band)
  throws its features off;
* :func:`split_on_pauses` cuts a long recording into utterances at silences.

The FIR filter is a sum of shifted, scaled copies of the signal (one ``audioop`` pass per
tap) in 32-bit samples, so rounding stays far below the 16-bit output's resolution.
"""

from __future__ import annotations

import math
import random
from functools import cache

from gateway.core.audio._audioop import audioop

__all__ = ["add_noise_floor", "lowpass", "resample", "split_on_pauses"]

TAPS = 63
_WIDE = 4  # filter in 32-bit samples


@cache
def _sinc_taps(cutoff: float, count: int = TAPS) -> tuple[float, ...]:
    """Hamming-windowed sinc low-pass; ``cutoff`` is a fraction of the sample rate (< 0.5)."""
    middle = (count - 1) / 2
    taps = []
    for n in range(count):
        x = n - middle
        ideal = 2 * cutoff if x == 0 else math.sin(2 * math.pi * cutoff * x) / (math.pi * x)
        taps.append(ideal * (0.54 - 0.46 * math.cos(2 * math.pi * n / (count - 1))))
    gain = sum(taps)
    return tuple(t / gain for t in taps)


def lowpass(pcm: bytes, rate: int, cutoff_hz: float) -> bytes:
    """``pcm`` with frequencies above ``cutoff_hz`` removed (zero phase: no delay)."""
    taps = _sinc_taps(cutoff_hz / rate)
    half = len(taps) // 2
    wide = audioop.lin2lin(pcm, 2, _WIDE)
    padded = bytes(half * _WIDE) + wide + bytes(half * _WIDE)
    size = len(wide)
    total = bytes(size)
    for k, tap in enumerate(taps):
        term = audioop.mul(padded[k * _WIDE : k * _WIDE + size], _WIDE, tap)
        total = audioop.add(total, term, _WIDE)
    return audioop.lin2lin(total, _WIDE, 2)


def resample(pcm: bytes, rate: int, new_rate: int) -> bytes:
    """``pcm`` at ``new_rate``, band-limited to the lower rate's band (90 % of its Nyquist)."""
    if rate == new_rate or not pcm:
        return pcm
    cutoff = 0.45 * min(rate, new_rate)
    if new_rate < rate:
        pcm = lowpass(pcm, rate, cutoff)
    out, _ = audioop.ratecv(pcm, 2, 1, rate, new_rate, None)
    return out if new_rate < rate else lowpass(out, new_rate, cutoff)


@cache
def _noise(samples: int, rms: float) -> bytes:
    rng = random.Random(8000)  # noqa: S311  (noise, not secrets: the same floor every time)
    values = (max(-32768, min(32767, round(rng.gauss(0.0, rms)))) for _ in range(samples))
    return b"".join(v.to_bytes(2, "little", signed=True) for v in values)


def add_noise_floor(pcm: bytes, rate: int, rms: float = 100.0) -> bytes:
    """``pcm`` with white noise of ``rms`` (100 is about -50 dBFS) mixed in."""
    block = _noise(rate, rms)  # one second, repeated
    noise = block * (len(pcm) // len(block) + 1)
    return audioop.add(pcm, noise[: len(pcm)], 2)


def split_on_pauses(
    pcm: bytes, rate: int, *, pause_ms: int = 700, level: int = 300, pad_ms: int = 200
) -> list[tuple[int, bytes]]:
    """Utterances in a recording as ``(start_ms, pcm)``, cut at ``pause_ms`` of quiet.

    A 10 ms frame is voiced when its RMS exceeds ``level``; each utterance keeps ``pad_ms``
    of the quiet around it, as a recogniser wants.
    """
    frame = rate // 100 * 2
    voiced = [
        audioop.rms(pcm[i : i + frame], 2) > level for i in range(0, len(pcm) - frame + 1, frame)
    ]
    spans: list[list[int]] = []
    for index, loud in enumerate(voiced):
        if not loud:
            continue
        if spans and index - spans[-1][1] <= pause_ms // 10:
            spans[-1][1] = index
        else:
            spans.append([index, index])
    pad = pad_ms // 10
    out = []
    for first, last in spans:
        start, end = max(0, first - pad), min(len(voiced), last + 1 + pad)
        out.append((start * 10, pcm[start * frame : end * frame]))
    return out
