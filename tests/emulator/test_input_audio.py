"""InputAudio: the input timeline in ms across formats, taking and clearing the buffer."""

from __future__ import annotations

from gateway.core.audio import AudioCodec
from gateway.emulator.config import VadSettings
from gateway.emulator.input_audio import InputAudio
from gateway.emulator.vad import SpeechStarted
from tests.emulator.client import silence, tone, ulaw

VAD = VadSettings("server_vad", 0.5, 300, 500, True, True, None)


def test_the_timeline_counts_ms_of_audio_whatever_the_format() -> None:
    """200 ms of μ-law then 100 ms of PCM16 24 kHz (odd chunks) is 300 ms."""
    audio = InputAudio(AudioCodec.PCMU, None)
    audio.write(ulaw(silence(200)))
    audio.reconfigure(AudioCodec.PCM16, None)
    pcm = silence(100, 24000)
    audio.write(pcm[:1001])
    audio.write(pcm[1001:])
    assert audio.position_ms == 300
    assert audio.buffer_start_ms == 200  # a new format starts a new buffer
    assert audio.buffered_ms == 100


def test_take_slices_by_ms_and_keeps_what_follows() -> None:
    """take(start, end) returns [start, end) and leaves audio after end in the buffer."""
    audio = InputAudio(AudioCodec.PCMU, None)
    audio.write(bytes(range(256)) * 5)  # 1280 bytes = 160 ms
    taken = audio.take(40, 100)
    assert (taken.start_ms, taken.end_ms, taken.duration_ms) == (40, 100, 60)
    assert taken.audio == (bytes(range(256)) * 5)[320:800]
    assert audio.buffer_start_ms == 100 and audio.buffered_ms == 60
    assert len(taken.pcm16) == 2 * len(taken.audio)


def test_clear_drops_audio_and_speech_in_progress() -> None:
    """After clear nothing is buffered and the VAD is not mid-speech."""
    audio = InputAudio(AudioCodec.PCMU, VAD)
    assert audio.write(ulaw(tone(100))) == [SpeechStarted(0)]
    assert audio.speaking
    audio.clear()
    assert not audio.speaking and audio.buffered_ms == 0 and audio.position_ms == 100
