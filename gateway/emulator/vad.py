"""Energy voice activity detection on decoded input audio, on the input-audio timeline.

The input-audio timeline counts milliseconds of all audio the client has appended this session
(whatever its format), which is what ``speech_started.audio_start_ms`` and
``speech_stopped.audio_end_ms`` are measured on.

Detection works on 10 ms frames of PCM16. A frame is *voiced* when its RMS level reaches the
threshold level. ``threshold`` (0..1, as in the API) maps linearly onto a level in dBFS:

    level_dbfs = -70 + 50 * threshold      # 0 -> -70 dBFS, 0.5 -> -45 dBFS, 1 -> -20 dBFS

so the default 0.5 triggers on normal speech (about -35 to -20 dBFS RMS on a phone line) and
ignores line noise; a higher threshold needs louder audio, as documented. Speech *starts* at
the first frame of a run of at least :data:`MIN_SPEECH_MS` voiced audio; it *stops* once
``silence_duration_ms`` of unvoiced audio follow the last voiced frame. Reported times:

* ``audio_start_ms`` = speech onset minus ``prefix_padding_ms`` (not before the start of the
  uncommitted buffer), i.e. the start of the audio the model gets;
* ``audio_end_ms`` = end of the last voiced frame plus ``silence_duration_ms``, i.e. the
  moment the stop is detected, silence included.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gateway.core.audio._audioop import audioop

__all__ = ["FRAME_MS", "MIN_SPEECH_MS", "EnergyVad", "SpeechStarted", "SpeechStopped", "level_dbfs"]

FRAME_MS = 10
MIN_SPEECH_MS = 20


def level_dbfs(threshold: float) -> float:
    """The RMS level (dBFS) a frame needs to count as speech at API ``threshold``."""
    return -70.0 + 50.0 * threshold


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    onset_ms: int


@dataclass(frozen=True, slots=True)
class SpeechStopped:
    end_ms: int


class EnergyVad:
    """Feeds PCM16 mono and reports speech starts and stops at frame resolution."""

    __slots__ = (
        "_frame_bytes",
        "_level",
        "_pending",
        "_position_ms",
        "_run_start",
        "_silence_ms",
        "_speaking",
        "_voice_end",
    )

    def __init__(self, rate: int, threshold: float, silence_duration_ms: int, position_ms: int):
        self._frame_bytes = rate * FRAME_MS // 1000 * 2
        self._level = level_dbfs(threshold)
        self._silence_ms = silence_duration_ms
        self._position_ms = position_ms
        self._pending = b""
        self._speaking = False
        self._run_start: int | None = None
        self._voice_end = 0

    @property
    def speaking(self) -> bool:
        return self._speaking

    def reset(self) -> None:
        """Forget any speech in progress (after a commit or a clear)."""
        self._speaking = False
        self._run_start = None

    def feed(self, pcm: bytes) -> list[SpeechStarted | SpeechStopped]:
        """Consume audio; return the starts and stops it completes, in order."""
        data = self._pending + pcm
        whole = len(data) - len(data) % self._frame_bytes
        self._pending = data[whole:]
        found: list[SpeechStarted | SpeechStopped] = []
        for offset in range(0, whole, self._frame_bytes):
            event = self._frame(data[offset : offset + self._frame_bytes])
            if event is not None:
                found.append(event)
        return found

    def _frame(self, frame: bytes) -> SpeechStarted | SpeechStopped | None:
        start = self._position_ms
        self._position_ms += FRAME_MS
        voiced = _dbfs(audioop.rms(frame, 2)) >= self._level
        if voiced:
            self._voice_end = self._position_ms
            if self._run_start is None:
                self._run_start = start
            if not self._speaking and self._position_ms - self._run_start >= MIN_SPEECH_MS:
                self._speaking = True
                return SpeechStarted(self._run_start)
            return None
        self._run_start = None
        if self._speaking and self._position_ms - self._voice_end >= self._silence_ms:
            self._speaking = False
            return SpeechStopped(self._voice_end + self._silence_ms)
        return None


def _dbfs(rms: int) -> float:
    return -math.inf if rms <= 0 else 20.0 * math.log10(rms / 32768.0)
