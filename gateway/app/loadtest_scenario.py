"""What a load call says: the agent graph, the emulator's script, and the caller's audio.

The agent talks from the answer to the hang-up: a greeting of about 45 s, and each time the
caller talks over it, an answer of about 45 s (the emulator's fallback). Each is short enough
for the playout ring (60 s) although the emulator sends audio ten times faster than real time.
The caller sends continuous PCMU: digital silence, with a voiced burst (a buzzy 150 Hz vowel
with syllable-rate loudness changes, about -16 dBFS, well above the emulator's -45 dBFS voice
threshold) ``barge_in_s`` after the answer and every ``every_s`` after that, each one a
barge-in. The burst is synthesised here, so a load run needs no speech synthesiser.
"""

from __future__ import annotations

import math
import subprocess
import sys
import wave
from pathlib import Path

__all__ = ["GRAPH", "SCENARIO", "caller_pcap"]

_SENTENCE = (
    "Our opening hours are nine to five on weekdays and ten to two on Saturdays, and we are "
    "closed on Sundays and public holidays. "
)

GRAPH = f"""
version: 1
name: loadtest
session:
  audio_format: audio/pcmu
  turn_detection: {{type: server_vad}}
phone:
  greeting: "{_SENTENCE * 5}"
  max_call_duration_s: 3600
  duration_warning_s: 0
  no_input: {{reprompt_after_s: 600, hangup_after_s: 1200}}
  filler_after_s: 10
agents:
  - name: talker
    instructions: "You answer the phone and talk."
    tools: [end_call]
routes: {{default: talker}}
"""

SCENARIO = f"""
version: 1
fallback: "Sorry to keep you. {_SENTENCE * 5}"
"""

_RATE = 8000
_BURST_S = 1.2


def _burst() -> bytes:
    """A voiced burst (PCM16): harmonics of 150 Hz, loudness varying at 4 Hz like syllables."""
    frames = bytearray()
    for n in range(int(_BURST_S * _RATE)):
        t = n / _RATE
        voice = sum(math.sin(2 * math.pi * 150 * k * t) / k for k in range(1, 8))
        envelope = 0.55 + 0.45 * math.sin(2 * math.pi * 4 * t)
        sample = int(4000 * voice * envelope)
        frames += max(-32768, min(32767, sample)).to_bytes(2, "little", signed=True)
    return bytes(frames)


def caller_pcap(
    workdir: Path, call_s: float, barge_in_s: float, sipp_dir: Path, every_s: float = 15.0
) -> Path:
    """The RTP every load call plays: ``call_s`` (+2 s) of PCMU with the barge-in bursts."""
    out = workdir / "caller.pcap"
    total = int((call_s + 2) * _RATE)
    pcm = bytearray(2 * total)
    burst = _burst()
    at = barge_in_s
    while barge_in_s > 0 and at + _BURST_S < call_s:
        start = 2 * int(at * _RATE)
        pcm[start : start + len(burst)] = burst
        at += every_s
    wav = workdir / "caller.wav"
    with wave.open(str(wav), "wb") as sink:
        sink.setnchannels(1)
        sink.setsampwidth(2)
        sink.setframerate(_RATE)
        sink.writeframes(bytes(pcm))
    tool = [sys.executable, str(sipp_dir / "make_pcap.py")]
    args = [*tool, "speech", "--wav", str(wav), "-o", str(out)]
    subprocess.run(args, check=True, capture_output=True, timeout=120)  # noqa: S603  (our tool)
    return out
