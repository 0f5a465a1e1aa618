"""Prompts the gateway speaks itself (the model is down or slow): bundled WAVs or the graph's."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from gateway.app.wavio import read_wav_phone

__all__ = ["BUNDLED", "PromptName", "prompt_pcm"]

PromptName = Literal["fallback", "fallback_transfer", "filler"]

BUNDLED = Path(__file__).resolve().parent.parent / "assets" / "prompts"


@cache
def prompt_pcm(name_or_path: str) -> bytes:
    """PCM16 8 kHz of a bundled prompt (``fallback``, ``fallback_transfer``, ``filler``) or a
    WAV file path from the graph."""
    path = Path(name_or_path)
    if path.suffix != ".wav":
        path = BUNDLED / f"{name_or_path}.wav"
    return read_wav_phone(path)
