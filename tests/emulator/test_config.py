"""SessionConfig: defaults, sparse updates and the typed views the session uses."""

from __future__ import annotations

from gateway.core.audio import AudioCodec
from gateway.emulator.config import SEMANTIC_SILENCE_MS, SessionConfig, VadSettings, default_session


def _config() -> SessionConfig:
    return SessionConfig(default_session("gpt-realtime", "sess_1", 1_900_000_000))


def test_updates_return_a_new_config_and_leave_the_old_one() -> None:
    """updated() is pure: the original echo does not change."""
    config = _config()
    newer = config.updated({"type": "realtime", "instructions": "x"})
    assert config.instructions != "x" and newer.instructions == "x"
    assert "type" in newer.to_wire() and newer.to_wire()["type"] == "realtime"


def test_formats_and_views() -> None:
    """PCM gets its 24 kHz rate filled in; codecs and voice come out typed."""
    config = _config().updated(
        {
            "audio": {
                "input": {"format": {"type": "audio/pcma"}},
                "output": {"format": {"type": "audio/pcm"}, "voice": {"id": "voice_1"}},
            }
        }
    )
    assert config.input_codec is AudioCodec.PCMA
    assert config.output_format == {"type": "audio/pcm", "rate": 24000}
    assert config.voice == {"id": "voice_1"}


def test_vad_views() -> None:
    """server_vad maps field for field; semantic_vad waits by eagerness; null is no VAD."""
    config = _config()
    assert config.vad == VadSettings("server_vad", 0.5, 300, 200, True, True, None)
    semantic = config.updated(
        {"audio": {"input": {"turn_detection": {"type": "semantic_vad", "eagerness": "low"}}}}
    )
    assert semantic.vad is not None
    assert semantic.vad.silence_duration_ms == SEMANTIC_SILENCE_MS["low"] == 1500
    assert semantic.vad.idle_timeout_ms is None
    off = config.updated({"audio": {"input": {"turn_detection": None}}})
    assert off.vad is None


def test_transcription_is_completed_with_nulls_and_can_be_turned_off() -> None:
    """A transcription object gets language/prompt null; null turns it off again."""
    config = _config().updated({"audio": {"input": {"transcription": {"model": "whisper-1"}}}})
    assert config.to_wire()["audio"]["input"]["transcription"] == {
        "model": "whisper-1",
        "language": None,
        "prompt": None,
    }
    assert config.transcription_model == "whisper-1"
    assert config.updated({"audio": {"input": {"transcription": None}}}).transcription_model is None
