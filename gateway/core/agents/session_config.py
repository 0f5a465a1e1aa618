"""Build Realtime ``session`` objects from an agent, the graph's defaults and the call.

Two shapes:

* :func:`initial_session`: everything, sent on connect (or in the SIP ``accept`` body, where
  audio formats are omitted and turn detection keeps only the fields accept takes);
* :func:`agent_update`: what a handoff changes (instructions, tools, voice while still allowed),
  never formats or turn detection, so a handoff cannot clobber them (openai-agents-js #1366).
"""

from __future__ import annotations

from typing import Any

from gateway.core.agents.agent import CallContext, RealtimeAgent
from gateway.core.agents.spec import SessionDefaults, render_placeholders
from gateway.core.realtime.wire_client import (
    AudioConfig,
    AudioFormat,
    AudioInputConfig,
    AudioOutputConfig,
    NoiseReduction,
    SessionConfig,
    TracingConfig,
    TranscriptionConfig,
    TurnDetectionConfig,
)

__all__ = ["SIP_ACCEPT_TURN_FIELDS", "agent_update", "initial_session", "render_instructions"]

SIP_ACCEPT_TURN_FIELDS = frozenset(
    {"type", "create_response", "interrupt_response", "idle_timeout_ms", "eagerness"}
)
"""Turn-detection fields SIP accept takes (threshold & co. got 400s: openai-agents-js #741)."""


def render_instructions(agent: RealtimeAgent, ctx: CallContext) -> str:
    """The agent's instructions for this call, placeholders filled."""
    text = agent.instructions(ctx, agent) if callable(agent.instructions) else agent.instructions
    return render_placeholders(text, ctx.placeholders())


def tool_definitions(agent: RealtimeAgent) -> list[dict[str, Any]]:
    """Function, MCP and handoff tools of ``agent`` as Realtime ``tools[]`` entries."""
    return [t.definition() for t in agent.tools] + [h.definition() for h in agent.handoff_list()]


def _turn_detection(defaults: SessionDefaults, sip_accept: bool) -> TurnDetectionConfig | None:
    turn = defaults.turn_detection
    if turn is None:
        return None
    fields = turn.model_dump(exclude_none=True)
    if sip_accept:
        fields = {k: v for k, v in fields.items() if k in SIP_ACCEPT_TURN_FIELDS}
    return TurnDetectionConfig(**fields)


def initial_session(
    agent: RealtimeAgent,
    defaults: SessionDefaults,
    ctx: CallContext,
    *,
    tracing: TracingConfig | None = None,
    sip_accept: bool = False,
) -> SessionConfig:
    """The full session for ``agent``; ``sip_accept`` omits formats and accept-refused fields."""
    fmt = None if sip_accept else AudioFormat.of(defaults.audio_format)
    transcription = defaults.transcription
    audio_in: dict[str, Any] = {"turn_detection": _turn_detection(defaults, sip_accept)}
    if fmt is not None:
        audio_in["format"] = fmt
    if transcription is not None:
        audio_in["transcription"] = TranscriptionConfig(
            **transcription.model_dump(exclude_none=True)
        )
    if defaults.noise_reduction is not None:
        audio_in["noise_reduction"] = NoiseReduction(type=defaults.noise_reduction)
    audio_out: dict[str, Any] = {"voice": agent.voice or defaults.voice}
    if fmt is not None:
        audio_out["format"] = fmt
    if defaults.speed is not None:
        audio_out["speed"] = defaults.speed
    extra: dict[str, Any] = {"tracing": tracing} if tracing is not None else {}
    return SessionConfig(
        model=defaults.model,
        instructions=render_instructions(agent, ctx),
        output_modalities=["audio"],
        audio=AudioConfig(
            input=AudioInputConfig(**audio_in), output=AudioOutputConfig(**audio_out)
        ),
        tools=tool_definitions(agent),
        tool_choice="auto",
        max_output_tokens=defaults.max_output_tokens,
        **extra,
    )


def agent_update(
    agent: RealtimeAgent, ctx: CallContext, *, voice: str | None = None
) -> SessionConfig:
    """The sparse update for switching to ``agent``; ``voice`` only while it may still change."""
    fields: dict[str, Any] = {
        "instructions": render_instructions(agent, ctx),
        "tools": tool_definitions(agent),
    }
    if voice is not None:
        fields["audio"] = AudioConfig(output=AudioOutputConfig(voice=voice))
    return SessionConfig(**fields)
