"""The effective session configuration: defaults, sparse ``session.update``, typed views.

The configuration is kept as the GA wire dict the server echoes in ``session.created`` and
``session.updated``; typed views (codecs, VAD settings) are derived from it on demand.

Defaults are those of OpenAI's documented ``session.created`` example (voice ``marin``,
``audio/pcm`` 24 kHz both ways, ``server_vad`` 0.5 / 300 ms / 200 ms, ``max_output_tokens``
``inf``), which a live capture (2026-09) also showed. A ``turn_detection`` object sent without
some fields gets the per-field defaults documented in the GA types (threshold 0.5, prefix
300 ms, silence **500** ms, create and interrupt ``true``).

Update semantics (sparse): only fields present change. ``audio``, ``audio.input`` and
``audio.output`` merge key by key; every other value (``turn_detection``, ``tools``, a format
...) is replaced whole; ``null`` turns ``turn_detection`` / ``transcription`` /
``noise_reduction`` off, and ``tracing`` too while it is still off.

Once tracing is enabled it cannot be modified (the GA session type's docstring): an update that
sets it to anything else, ``null`` included, is refused whole. The same value again is allowed.
The error is UNVERIFIED (no capture): ``invalid_value`` on ``session.tracing``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from gateway.core.audio import AudioCodec, parse_codec
from gateway.emulator.schema import ClientEventError

__all__ = ["DEFAULT_INSTRUCTIONS", "SessionConfig", "VadSettings"]

DEFAULT_INSTRUCTIONS = (
    "You are a helpful, witty, and friendly AI. Your voice and personality should be warm and "
    "engaging. Talk quickly. You should always call a function if you can."
)
PCM24 = {"type": "audio/pcm", "rate": 24000}
_SERVER_VAD_DEFAULTS: dict[str, Any] = {
    "threshold": 0.5,
    "prefix_padding_ms": 300,
    "silence_duration_ms": 500,
    "idle_timeout_ms": None,
    "create_response": True,
    "interrupt_response": True,
}
_SEMANTIC_VAD_DEFAULTS: dict[str, Any] = {
    "eagerness": "auto",
    "create_response": True,
    "interrupt_response": True,
}
# semantic_vad is approximated by energy VAD with a silence wait chosen by eagerness.
SEMANTIC_SILENCE_MS = {"high": 300, "medium": 700, "auto": 700, "low": 1500}
_MERGED = {("audio",), ("audio", "input"), ("audio", "output")}


@dataclass(frozen=True, slots=True)
class VadSettings:
    """Turn detection as the emulator's VAD uses it (``semantic_vad`` mapped onto energy VAD)."""

    kind: str
    threshold: float
    prefix_padding_ms: int
    silence_duration_ms: int
    create_response: bool
    interrupt_response: bool
    idle_timeout_ms: int | None


def default_session(model: str, session_id: str, expires_at: int) -> dict[str, Any]:
    """The configuration ``session.created`` shows before any update."""
    return {
        "type": "realtime",
        "object": "realtime.session",
        "id": session_id,
        "model": model,
        "output_modalities": ["audio"],
        "instructions": DEFAULT_INSTRUCTIONS,
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": None,
        "truncation": "auto",
        "prompt": None,
        "expires_at": expires_at,
        "audio": {
            "input": {
                "format": dict(PCM24),
                "transcription": None,
                "noise_reduction": None,
                "turn_detection": {
                    "type": "server_vad",
                    **_SERVER_VAD_DEFAULTS,
                    "silence_duration_ms": 200,
                },
            },
            "output": {"format": dict(PCM24), "voice": "marin", "speed": 1.0},
        },
        "include": None,
    }


class SessionConfig:
    """The effective configuration of one session."""

    __slots__ = ("_data",)

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def to_wire(self) -> dict[str, Any]:
        """A copy of the full effective configuration, as echoed to the client."""
        return copy.deepcopy(self._data)

    def updated(self, update: dict[str, Any]) -> SessionConfig:
        """A new configuration with a validated sparse ``session.update`` applied."""
        data = copy.deepcopy(self._data)
        _merge(data, _normalised(update), ())
        return SessionConfig(data)

    def check_update(self, update: dict[str, Any]) -> None:
        """Refuse a client's ``session.update`` that modifies tracing once it is enabled."""
        tracing = self._data["tracing"]
        if tracing is not None and update.get("tracing", tracing) != tracing:
            raise ClientEventError(
                "Invalid 'session.tracing': tracing cannot be modified once it is enabled.",
                code="invalid_value",
                param="session.tracing",
            )

    # ------------------------------------------------------------------ typed views

    @property
    def model(self) -> str:
        return str(self._data["model"])

    @property
    def instructions(self) -> str:
        return str(self._data["instructions"])

    @property
    def tools(self) -> list[dict[str, Any]]:
        return list(self._data["tools"])

    @property
    def tool_choice(self) -> Any:
        return self._data["tool_choice"]

    @property
    def output_modalities(self) -> list[str]:
        return list(self._data["output_modalities"])

    @property
    def max_output_tokens(self) -> int | str:
        value: int | str = self._data["max_output_tokens"]
        return value

    @property
    def input_codec(self) -> AudioCodec:
        return parse_codec(self._data["audio"]["input"]["format"])

    @property
    def output_codec(self) -> AudioCodec:
        return parse_codec(self.output_format)

    @property
    def output_format(self) -> dict[str, Any]:
        return dict(self._data["audio"]["output"]["format"])

    @property
    def voice(self) -> Any:
        return self._data["audio"]["output"]["voice"]

    @property
    def speed(self) -> float:
        return float(self._data["audio"]["output"]["speed"])

    @property
    def transcription_model(self) -> str | None:
        transcription = self._data["audio"]["input"]["transcription"]
        return None if transcription is None else str(transcription.get("model") or "")

    @property
    def vad(self) -> VadSettings | None:
        detection = self._data["audio"]["input"]["turn_detection"]
        if detection is None:
            return None
        if detection["type"] == "semantic_vad":
            return VadSettings(
                kind="semantic_vad",
                threshold=0.5,
                prefix_padding_ms=300,
                silence_duration_ms=SEMANTIC_SILENCE_MS[detection["eagerness"]],
                create_response=detection["create_response"],
                interrupt_response=detection["interrupt_response"],
                idle_timeout_ms=None,  # idle timeout is server_vad only
            )
        return VadSettings(
            kind="server_vad",
            threshold=detection["threshold"],
            prefix_padding_ms=detection["prefix_padding_ms"],
            silence_duration_ms=detection["silence_duration_ms"],
            create_response=detection["create_response"],
            interrupt_response=detection["interrupt_response"],
            idle_timeout_ms=detection["idle_timeout_ms"],
        )


def _normalised(update: dict[str, Any]) -> dict[str, Any]:
    """Fill the defaults the server adds to objects given only in part."""
    out = copy.deepcopy(update)
    audio = out.get("audio", {})
    for side in ("input", "output"):
        fmt = audio.get(side, {}).get("format")
        if fmt is not None and fmt["type"] == "audio/pcm":
            fmt.setdefault("rate", 24000)
    inp = audio.get("input", {})
    if inp.get("turn_detection") is not None:
        detection = inp["turn_detection"]
        defaults = (
            _SEMANTIC_VAD_DEFAULTS if detection["type"] == "semantic_vad" else _SERVER_VAD_DEFAULTS
        )
        inp["turn_detection"] = {"type": detection["type"], **defaults, **detection}
    if inp.get("transcription") is not None:
        inp["transcription"] = {"language": None, "prompt": None, **inp["transcription"]}
    out.pop("type", None)
    return out


def _merge(target: dict[str, Any], update: dict[str, Any], path: tuple[str, ...]) -> None:
    for key, value in update.items():
        here = (*path, key)
        if here in _MERGED and isinstance(target.get(key), dict):
            _merge(target[key], value, here)
        else:
            target[key] = value
