"""Prompts the gateway speaks itself (the model is down or slow): bundled WAVs or the graph's."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from gateway.adapters.sip.media import FRAME_BYTES, PlayoutRing
from gateway.app.wavio import read_wav_phone

__all__ = ["BUNDLED", "PromptName", "prompt_pcm", "queue_prompt"]

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


def queue_prompt(ring: PlayoutRing, name: str, pcm: bytes) -> None:
    """Put ``pcm`` (PCM16 8 kHz) into a call's playout ring as whole 20 ms frames, playable at
    once (whatever the ring held back for guardrails is released first)."""
    pcm += bytes(-len(pcm) % FRAME_BYTES)
    ring.release_all()
    for offset in range(0, len(pcm), FRAME_BYTES):
        ring.push(pcm[offset : offset + FRAME_BYTES], f"prompt:{name}", 0)
