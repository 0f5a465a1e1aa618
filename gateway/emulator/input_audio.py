"""The input audio buffer: decoding, the input-audio timeline, uncommitted audio and its VAD."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gateway.core.audio import AudioCodec, alaw_to_pcm16, ulaw_to_pcm16
from gateway.emulator.config import VadSettings
from gateway.emulator.vad import EnergyVad, SpeechStarted, SpeechStopped

__all__ = ["Committed", "InputAudio"]

_DECODERS: dict[AudioCodec, Callable[[bytes], bytes]] = {
    AudioCodec.PCMU: ulaw_to_pcm16,
    AudioCodec.PCMA: alaw_to_pcm16,
    AudioCodec.PCM16: bytes,
}


@dataclass(frozen=True, slots=True)
class Committed:
    """Audio taken out of the buffer to become a user item."""

    audio: bytes
    codec: AudioCodec
    start_ms: int
    end_ms: int

    @property
    def pcm16(self) -> bytes:
        return _DECODERS[self.codec](self.audio)

    @property
    def duration_ms(self) -> float:
        return len(self.audio) / self.codec.bytes_per_ms


class InputAudio:
    """Audio appended by the client and not yet committed, located on the input timeline."""

    __slots__ = (
        "_base_ms",
        "_buffer",
        "_buffer_start_ms",
        "_codec",
        "_odd",
        "_vad",
        "_written",
    )

    def __init__(self, codec: AudioCodec, vad: VadSettings | None) -> None:
        self._codec = codec
        self._base_ms = 0.0
        self._written = 0
        self._buffer = bytearray()
        self._buffer_start_ms = 0.0
        self._odd = b""
        self._vad: EnergyVad | None = None
        self.reconfigure(codec, vad)

    @property
    def position_ms(self) -> int:
        """Milliseconds of audio written this session (the input-audio timeline)."""
        return int(self._position())

    @property
    def buffer_start_ms(self) -> int:
        return int(self._buffer_start_ms)

    @property
    def buffered_ms(self) -> float:
        return len(self._buffer) / self._codec.bytes_per_ms

    @property
    def speaking(self) -> bool:
        return self._vad is not None and self._vad.speaking

    def _position(self) -> float:
        return self._base_ms + self._written / self._codec.bytes_per_ms

    def reconfigure(self, codec: AudioCodec, vad: VadSettings | None) -> None:
        """Apply a new input format or turn detection; speech in progress is forgotten."""
        if codec is not self._codec:
            self._base_ms = self._position()
            self._written = 0
            self._buffer.clear()
            self._buffer_start_ms = self._base_ms
            self._odd = b""
            self._codec = codec
        self._vad = (
            None
            if vad is None
            else EnergyVad(
                codec.sample_rate, vad.threshold, vad.silence_duration_ms, self.position_ms
            )
        )

    def write(self, data: bytes) -> list[SpeechStarted | SpeechStopped]:
        """Append encoded audio; return what the VAD detected in it."""
        if self._codec is AudioCodec.PCM16:
            data = self._odd + data
            cut = len(data) - len(data) % 2
            data, self._odd = data[:cut], data[cut:]
        self._buffer += data
        self._written += len(data)
        if self._vad is None:
            return []
        return self._vad.feed(_DECODERS[self._codec](data))

    def take(self, start_ms: float | None = None, end_ms: float | None = None) -> Committed:
        """Remove the buffer up to ``end_ms`` (default: all); return ``[start_ms, end_ms)``."""
        start = self._buffer_start_ms if start_ms is None else max(start_ms, self._buffer_start_ms)
        end = self._position() if end_ms is None else min(end_ms, self._position())
        lo, hi = self._offset(start), self._offset(end)
        audio = bytes(self._buffer[lo:hi])
        del self._buffer[:hi]
        self._buffer_start_ms = end
        return Committed(audio, self._codec, int(start), int(end))

    def forget_speech(self) -> None:
        """End any speech in progress without a stop (manual commit or clear)."""
        if self._vad is not None:
            self._vad.reset()

    def clear(self) -> None:
        """Drop the uncommitted audio and any speech in progress (``input_audio_buffer.clear``)."""
        self.take()
        self.forget_speech()

    def _offset(self, ms: float) -> int:
        offset = round((ms - self._buffer_start_ms) * self._codec.bytes_per_ms)
        offset -= offset % (2 if self._codec is AudioCodec.PCM16 else 1)
        return max(0, min(offset, len(self._buffer)))
