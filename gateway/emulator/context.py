"""What the emulated model sees of the conversation: the turn to answer and token counts.

Token figures are plausible, not exact: text at about four characters a token, input audio at
ten tokens a second and output audio at twenty (the rates OpenAI's examples show), cached
input rounded down to 64-token blocks of what the previous response already read.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from gateway.emulator.conversation import Item
from gateway.emulator.model import Turn
from gateway.emulator.response import ResponseSpec

__all__ = [
    "InputTokens",
    "RateLimits",
    "input_tokens",
    "transcription_events",
    "transcription_usage",
    "turn_for",
]

INPUT_AUDIO_TOKENS_PER_S = 10


def turn_for(items: Sequence[Item], idle_item_ids: set[str]) -> Turn:
    """The turn a response answers, given the items it can see."""
    last_output = max(
        (n for n, i in enumerate(items) if i.role == "assistant" or i.type == "function_call"),
        default=-1,
    )
    tail = items[last_output + 1 :]
    if tail and tail[-1].type == "function_call_output":
        output = tail[-1]
        call = next(
            (i for i in items if i.type == "function_call" and i.call_id == output.call_id), None
        )
        name = call.name if call is not None and call.name else ""
        return Turn("tool_result", tool=name, result=output.output or "")
    users = [i for i in tail if i.role == "user"]
    if users and users[-1].id in idle_item_ids:
        return Turn("idle")
    if users:
        return Turn("caller", caller=" ".join(i.text for i in users if i.text).strip())
    return Turn("again") if last_output >= 0 else Turn("greeting")


class InputTokens:
    """Input token estimate for one response: total, of which audio, of which cached."""

    __slots__ = ("audio", "cached", "total")

    def __init__(self, total: int, audio: int, cached: int) -> None:
        self.total, self.audio, self.cached = total, audio, cached


def input_tokens(instructions: str, items: Sequence[Item], previous_total: int) -> InputTokens:
    """Estimate what reading ``instructions`` and ``items`` costs."""
    chars = len(instructions) + sum(len(i.text) + len(i.arguments or "") for i in items)
    audio = sum(
        math.ceil(i.audio_ms / 1000 * INPUT_AUDIO_TOKENS_PER_S) for i in items if i.role == "user"
    )
    total = math.ceil(chars / 4) + audio
    cached = min(total, previous_total) // 64 * 64
    return InputTokens(total, audio, cached)


class RateLimits:
    """The ``rate_limits.updated`` buckets: one request and the tokens reserved per response."""

    __slots__ = ("_requests", "_tokens")

    REQUESTS, TOKENS = 1000, 15_000_000

    def __init__(self) -> None:
        self._requests, self._tokens = self.REQUESTS, self.TOKENS

    def reserve(self, spec: ResponseSpec) -> list[dict[str, Any]]:
        """Take a response's share; the buckets as the event reports them."""
        limit = spec.max_output_tokens
        self._requests = max(0, self._requests - 1)
        self._tokens = max(
            0, self._tokens - spec.input_tokens - (limit if isinstance(limit, int) else 4096)
        )
        return [
            {
                "name": "requests",
                "limit": self.REQUESTS,
                "remaining": self._requests,
                "reset_seconds": 60,
            },
            {
                "name": "tokens",
                "limit": self.TOKENS,
                "remaining": self._tokens,
                "reset_seconds": 0.001,
            },
        ]


def transcription_usage(model: str, audio_ms: float, text: str) -> dict[str, Any]:
    """The ``usage`` of a transcription: duration for whisper-1, tokens for the others."""
    if model == "whisper-1":
        return {"type": "duration", "seconds": round(audio_ms / 1000, 3)}
    audio = math.ceil(audio_ms / 1000 * INPUT_AUDIO_TOKENS_PER_S)
    output = math.ceil(len(text) / 4)
    return {
        "type": "tokens",
        "total_tokens": audio + output,
        "input_tokens": audio,
        "input_token_details": {"text_tokens": 0, "audio_tokens": audio},
        "output_tokens": output,
    }


def transcription_events(
    item_id: str, text: str, audio_ms: float, model: str
) -> list[tuple[str, dict[str, Any]]]:
    """The caller item's transcription as events: a delta per word, then ``completed``."""
    ids = {"item_id": item_id, "content_index": 0}
    events = [
        ("conversation.item.input_audio_transcription.delta", {**ids, "delta": delta})
        for delta in (w if n == 0 else f" {w}" for n, w in enumerate(text.split()))
    ]
    usage = transcription_usage(model, audio_ms, text)
    completed = {**ids, "transcript": text, "usage": usage}
    events.append(("conversation.item.input_audio_transcription.completed", completed))
    return events
