"""SessionConfig: defaults, sparse updates, the typed views the session uses, and what a
session.update may not change (tracing once enabled)."""

from __future__ import annotations

from typing import Any

from gateway.core.audio import AudioCodec
from gateway.emulator.config import SEMANTIC_SILENCE_MS, SessionConfig, VadSettings, default_session
from tests.emulator.client import RealtimeClient, connect
from tests.emulator.conftest import StartEmulator


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


# ------------------------------------------------------------------ tracing lock, over loopback

TRACING = {"workflow_name": "voicegw", "group_id": "call-1", "metadata": {"agent": "desk"}}


async def _refused(client: RealtimeClient, session: dict[str, Any]) -> dict[str, Any]:
    """Send a session.update expected to be refused; the error it got."""
    update = {"type": "session.update", "event_id": "evt_trace"}
    await client.send({**update, "session": {"type": "realtime", **session}})
    error: dict[str, Any] = (await client.expect("error"))["error"]
    return error


async def test_tracing_cannot_change_once_enabled(emulator: StartEmulator) -> None:
    """null -> auto is allowed, auto again too; then another config, or null, is an error and
    the whole update is dropped: no session.updated, instructions and tracing as they were."""
    server = await emulator()
    async with connect(server.url) as client:
        assert (await client.update({"tracing": "auto"}))["tracing"] == "auto"
        assert (await client.update({"tracing": "auto"}))["tracing"] == "auto"
        changed = await _refused(client, {"tracing": TRACING, "instructions": "Changed."})
        disabled = await _refused(client, {"tracing": None})
        after = await client.update({"instructions": "Later."})
    assert changed == {
        "type": "invalid_request_error",
        "code": "invalid_value",
        "message": "Invalid 'session.tracing': tracing cannot be modified once it is enabled.",
        "param": "session.tracing",
        "event_id": "evt_trace",
    }
    assert disabled == changed
    assert after["tracing"] == "auto" and after["instructions"] == "Later."


async def test_a_tracing_config_may_be_sent_again_unchanged(emulator: StartEmulator) -> None:
    """The same object again is no modification; another field value, or 'auto', is."""
    server = await emulator()
    async with connect(server.url) as client:
        await client.update({"tracing": TRACING})
        assert (await client.update({"tracing": dict(TRACING)}))["tracing"] == TRACING
        other = await _refused(client, {"tracing": {**TRACING, "group_id": "call-2"}})
        auto = await _refused(client, {"tracing": "auto"})
    assert other["param"] == auto["param"] == "session.tracing"


async def test_attached_calls_keep_the_accepted_tracing_and_take_the_sdk_update(
    emulator: StartEmulator,
) -> None:
    """A call accepted with tracing takes the gateway's sparse agent update (no tracing in it);
    a call accepted without tracing takes the SDKs' tracing 'auto' sent on session.created."""
    server = await emulator()
    traced = server.registry.register(session={"type": "realtime", "tracing": TRACING})
    plain = server.registry.register(session={"type": "realtime", "instructions": "Hi."})
    async with connect(server.url, f"?call_id={traced}") as client:
        assert client.events[0]["session"]["tracing"] == TRACING
        updated = await client.update({"instructions": "Desk.", "tools": []})
        assert updated["tracing"] == TRACING
    async with connect(server.url, f"?call_id={plain}") as client:
        assert (await client.update({"tracing": "auto"}))["tracing"] == "auto"
