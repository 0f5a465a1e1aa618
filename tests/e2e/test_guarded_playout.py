"""Guarded playout over pjsua2: the caller never hears a card number the guardrail stops.

The emulator speaks with its ``tones`` voice: word *i* of an answer is a distinct tone, so the
caller's recording says exactly which words reached the ear. The model reads out a card number;
the ``no_long_digits`` guardrail trips. With guarded playout the number's words are never
played; without it (the same call, guarded playout off) they leak before the trip lands.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.app.wavio import read_wav_phone
from gateway.core.audio._audioop import audioop
from gateway.emulator.voice import tone_hz
from tests.conftest import require_tool
from tests.e2e.harness import Stack, stack

pytestmark = pytest.mark.system

GRAPH = """
name: guarded
session:
  audio_format: audio/pcmu
  turn_detection: {type: server_vad, silence_duration_ms: 400}
phone:
  greeting: "Hi."
  guarded_playout: GUARDED
agents:
  - name: billing
    instructions: "Billing."
    guardrails:
      output:
        - type: no_long_digits
      feedback: "Do not read card numbers."
routes:
  default: billing
"""

SCENARIO = """
voice: tones
caller_transcripts: ["read my card please"]
rules:
  - caller: "card"
    say: "Your card number is 4111 1111 1111 1111 thank you."
fallback: "Sorry about that."
"""

BEFORE = {0, 1, 2, 3}  # Your card number is
NUMBER = {4, 5, 6, 7}  # 4111 1111 1111 1111
FRAME = 320  # 20 ms of PCM16 at 8 kHz


def _tone_index(frame: bytes) -> int | None:
    """The ToneVoice word index a voiced 20 ms frame carries (by its zero-crossing rate)."""
    if audioop.rms(frame, 2) < 500:
        return None
    hz = audioop.cross(frame, 2) * 25  # crossings per 20 ms -> Hz
    index = round((hz - tone_hz(0)) / 100)
    return index if 0 <= index < 25 else -1


def utterances(pcm: bytes, gap_frames: int = 5) -> list[list[int]]:
    """Words heard per utterance: runs of a steady tone, utterances split by >= 100 ms quiet.

    A word counts when its tone holds for at least 3 frames (transitions and G.711 edges give
    stray one-frame readings).
    """
    found: list[list[int]] = []
    words: list[int] = []
    run: tuple[int, int] | None = None
    quiet = gap_frames
    for offset in range(0, len(pcm) - FRAME + 1, FRAME):
        index = _tone_index(pcm[offset : offset + FRAME])
        if index is None:
            quiet += 1
            if quiet == gap_frames and words:
                found.append(words)
                words = []
            run = None
            continue
        if quiet >= gap_frames and words:
            found.append(words)
            words = []
        quiet = 0
        run = (index, run[1] + 1) if run is not None and run[0] == index else (index, 1)
        if run[1] == 3 and index >= 0 and (not words or words[-1] != index):
            words.append(index)
    if words:
        found.append(words)
    return found


@pytest.fixture
def calls(tmp_path: Path) -> Iterator[Stack]:
    require_tool("espeak-ng")
    with stack(tmp_path) as s:
        yield s


def _heard_words(calls: Stack, guarded: bool) -> tuple[list[int], dict[str, object]]:
    """The words of the card answer the caller heard (the utterance after the greeting)."""
    # twice real time, as a model streams: the transcript runs ahead of what is played
    calls.start_emulator(SCENARIO, "--chunk-ms", "100", "--gap-ms", "50", "--latency-ms", "50")
    calls.start_gateway(GRAPH.replace("GUARDED", "true" if guarded else "false"))
    wav = calls.workdir / "heard.wav"
    summary = calls.call("--say", "Read my card please.", "--record", str(wav), "--duration", "16")
    assert summary["answered"]
    (cdr,) = calls.wait_cdrs(1)
    heard = utterances(read_wav_phone(wav))
    assert heard[0] == [0], f"the greeting 'Hi.' should come first: {heard}"
    return heard[1], cdr


def test_the_card_number_is_never_heard_with_guarded_playout(calls: Stack) -> None:
    """Words before the number are heard, none of the number; the CDR shows the trip."""
    words, cdr = _heard_words(calls, guarded=True)
    assert not set(words) & NUMBER, f"heard number words: {words}"
    assert words[:2] == [0, 1], f"'Your card' should be heard: {words}"
    counters = cdr["counters"]
    assert isinstance(counters, dict)
    assert counters["guardrail_trips"] == 1
    assert counters["trips_before_heard"] == 1
    assert "guardrail no_long_digits" in str(cdr["errors"])


def test_without_guarded_playout_the_number_leaks(calls: Stack) -> None:
    """The same call with guarded playout off: number words reach the caller (the test above
    can fail), and the trip is recorded as heard."""
    words, cdr = _heard_words(calls, guarded=False)
    assert set(words) & NUMBER, f"expected a leak, heard {words}"
    counters = cdr["counters"]
    assert isinstance(counters, dict)
    assert counters["guardrail_trips"] == 1


def test_utterance_analysis_reads_tone_words() -> None:
    """The analysis itself: two tone utterances come back as their word indices."""
    import math
    import struct

    def tone(index: int, frames: int) -> bytes:
        n = frames * 160
        hz = tone_hz(index)
        return struct.pack(
            f"<{n}h", *(int(9000 * math.sin(2 * math.pi * hz * i / 8000)) for i in range(n))
        )

    gap, pause = bytes(FRAME), bytes(FRAME * 8)
    pcm = tone(0, 6) + gap + tone(1, 6) + pause + tone(0, 5) + gap + tone(4, 5) + gap + tone(5, 5)
    assert utterances(pcm) == [[0, 1], [0, 4, 5]]
