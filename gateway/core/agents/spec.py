"""The agent-graph configuration: pydantic v2 models of one YAML graph file.

A graph has ``agents`` (instructions, voice, tools, handoffs, guardrails), ``tools`` (Python
callables, HTTP endpoints or Realtime-native MCP servers), ``routes`` (dialed number / caller
patterns to an entry agent), ``session`` defaults for the Realtime session, and ``phone``
behaviour (greeting, limits, no-input handling, transfer targets).

Cross-references (an agent's tools and handoffs, route targets, transfer targets) are checked by
:func:`gateway.core.agents.references.reference_issues`, which the loader also runs on
structurally broken files so that every error is reported at once. The guardrail models live
in :mod:`~gateway.core.agents.guardrail_spec`, the base model and checked string types in
:mod:`~gateway.core.agents.spec_types`.
"""

from __future__ import annotations

import re
from typing import Any, Literal, Self

from pydantic import (
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from gateway.core.agents.guardrail_spec import GuardrailSet, InputGuardrailSpec, OutputGuardrailSpec
from gateway.core.agents.spec_types import (
    PLACEHOLDERS,
    HttpUrl,
    ImportPath,
    Name,
    Prompt,
    SipUri,
    Strict,
    check_placeholders,
    render_placeholders,
)
from gateway.core.audio.codec import AudioCodec, parse_codec
from gateway.errors import UnknownCodecError

__all__ = [
    "BUILTIN_TOOLS",
    "PLACEHOLDERS",
    "AgentSpec",
    "GraphSpec",
    "GuardrailSet",
    "HttpToolSpec",
    "InputGuardrailSpec",
    "NoInputSettings",
    "OutputGuardrailSpec",
    "PhoneSettings",
    "RouteRule",
    "RoutesSpec",
    "SessionDefaults",
    "ToolSpec",
    "TranscriptionSettings",
    "TurnDetectionSettings",
    "check_placeholders",
    "render_placeholders",
]

BUILTIN_TOOLS = frozenset({"end_call", "transfer_call"})
"""Tools every agent may list without declaring them: hang up, blind-transfer by SIP REFER."""

# ---------------------------------------------------------------------------------------- session


class TurnDetectionSettings(Strict):
    """Realtime ``audio.input.turn_detection`` (``server_vad`` or ``semantic_vad``)."""

    type: Literal["server_vad", "semantic_vad"] = "server_vad"
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    prefix_padding_ms: int | None = Field(default=None, ge=0, le=5000)
    silence_duration_ms: int | None = Field(default=None, ge=0, le=10000)
    idle_timeout_ms: int | None = Field(default=None, ge=5000, le=30000)
    eagerness: Literal["low", "medium", "high", "auto"] | None = None
    create_response: bool = True
    interrupt_response: bool = True

    @model_validator(mode="after")
    def _fields_match_type(self) -> Self:
        server_only = ("threshold", "prefix_padding_ms", "silence_duration_ms", "idle_timeout_ms")
        if self.type == "semantic_vad":
            given = [f for f in server_only if getattr(self, f) is not None]
            if given:
                raise ValueError(f"{', '.join(given)} apply to server_vad only")
        elif self.eagerness is not None:
            raise ValueError("eagerness applies to semantic_vad only")
        return self


class TranscriptionSettings(Strict):
    """Realtime ``audio.input.transcription``: what the caller said, as text."""

    model: str = "gpt-4o-mini-transcribe"
    language: str | None = Field(default=None, pattern=r"^[a-z]{2}$")
    prompt: str | None = None


class SessionDefaults(Strict):
    """Realtime session settings every agent of the graph starts from."""

    model: str = "gpt-realtime"
    voice: str = "marin"
    audio_format: AudioCodec = AudioCodec.PCMU
    turn_detection: TurnDetectionSettings | None = TurnDetectionSettings()
    transcription: TranscriptionSettings | None = TranscriptionSettings()
    noise_reduction: Literal["near_field", "far_field"] | None = None
    speed: float | None = Field(default=None, ge=0.25, le=1.5)
    max_output_tokens: int | Literal["inf"] = "inf"

    @field_validator("audio_format", mode="before")
    @classmethod
    def _codec(cls, value: object) -> AudioCodec:
        if isinstance(value, AudioCodec):
            return value
        if isinstance(value, str | int | dict):
            try:
                return parse_codec(value)
            except UnknownCodecError as exc:
                raise ValueError(str(exc)) from None
        raise ValueError(f"audio_format must be a codec name, got {type(value).__name__}")

    @field_validator("max_output_tokens")
    @classmethod
    def _tokens(cls, value: int | str) -> int | str:
        if isinstance(value, int) and not 1 <= value <= 4096:
            raise ValueError("max_output_tokens must be 1..4096 or 'inf'")
        return value


# ------------------------------------------------------------------------------------------ phone


class NoInputSettings(Strict):
    """What to do when the caller says nothing: reprompt once, then say goodbye and hang up."""

    reprompt_after_s: float = Field(default=8.0, gt=0)
    reprompt: Prompt = "Are you still there?"
    hangup_after_s: float = Field(default=20.0, gt=0)
    goodbye: Prompt = "I haven't heard anything, so I'll end the call now. Goodbye."

    @model_validator(mode="after")
    def _order(self) -> Self:
        if self.hangup_after_s <= self.reprompt_after_s:
            raise ValueError("hangup_after_s must be later than reprompt_after_s")
        return self


class PhoneSettings(Strict):
    """Telephone behaviour of the graph's calls."""

    greeting: str | None = None
    """What the entry agent says on answer; None lets the agent greet from its instructions."""
    max_call_duration_s: int = Field(default=1800, ge=10, le=24 * 3600)
    duration_warning_s: int = Field(default=60, ge=0)
    duration_warning: Prompt = "We're nearly out of time on this call."
    no_input: NoInputSettings = NoInputSettings()
    transfer_targets: dict[Name, SipUri] = Field(default_factory=dict)
    model_unavailable: Literal["announce", "reject"] = "announce"
    """The model cannot be reached when a call arrives: ``announce`` answers and plays the
    fallback prompt, then transfers to ``fallback_transfer`` or hangs up; ``reject`` refuses
    the call with 503 + Retry-After (lets the carrier route elsewhere)."""
    fallback_transfer: Name | None = None
    """Transfer target for callers the model cannot serve (model down, or gone mid-call)."""
    filler_after_s: float = Field(default=2.0, gt=0, le=10)
    """A caller waiting this long without agent audio hears the filler prompt."""
    prompts: dict[Literal["fallback", "fallback_transfer", "filler"], str] = Field(
        default_factory=dict
    )
    """WAV files replacing the bundled prompts."""
    guarded_playout: bool = True
    """Play the agent's audio only once its transcript passed the fast output guardrails."""
    guarded_max_hold_ms: int = Field(default=300, ge=20, le=5000)
    """The longest guarded playout may hold audio; past it, audio plays on (and is counted)."""

    @field_validator("greeting", "duration_warning")
    @classmethod
    def _prompt_placeholders(cls, text: str | None) -> str | None:
        return None if text is None else check_placeholders(text)

    @model_validator(mode="after")
    def _warning_before_end(self) -> Self:
        if self.duration_warning_s >= self.max_call_duration_s:
            raise ValueError("duration_warning_s must be shorter than max_call_duration_s")
        return self


# ------------------------------------------------------------------------------------------ tools


class HttpToolSpec(Strict):
    """A tool served by an HTTP endpoint; arguments go as JSON (query string for GET)."""

    url: HttpUrl
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    headers: dict[str, str] = Field(default_factory=dict)
    """Header values may use ``${ENV_NAME}``, expanded when the call is made, never logged."""

    @field_validator("headers")
    @classmethod
    def _env_refs(cls, headers: dict[str, str]) -> dict[str, str]:
        for value in headers.values():
            if re.search(r"\$\{(?![A-Za-z_][A-Za-z0-9_]*\})", value):
                raise ValueError(f"malformed ${{ENV}} reference in header value {value!r}")
        return headers


class ToolSpec(Strict):
    """One tool: exactly one of ``python``, ``http`` or ``mcp``."""

    name: Name
    description: str = ""
    parameters: dict[str, Any] | None = None
    """JSON Schema of the arguments (an object schema); derived from the signature if absent."""
    python: ImportPath | None = None
    http: HttpToolSpec | None = None
    mcp: dict[str, Any] | None = None
    """A Realtime-native MCP server (``server_label``, ``server_url`` ...), passed through."""
    timeout_s: float = Field(default=10.0, gt=0, le=300)
    approval: Literal["none", "confirm", "deny"] = "none"
    """``confirm``: the caller must agree before it runs; ``deny``: never runs."""
    background: bool = False
    """A background tool's result is added to the conversation without triggering a response."""

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        kinds = [k for k in ("python", "http", "mcp") if getattr(self, k) is not None]
        if len(kinds) != 1:
            found = ", ".join(kinds) or "none"
            raise ValueError(f"a tool needs exactly one of python, http, mcp (found: {found})")
        if self.http is not None and self.parameters is None:
            raise ValueError("an http tool needs 'parameters' (a JSON Schema object)")
        return self

    @field_validator("parameters")
    @classmethod
    def _object_schema(cls, schema: dict[str, Any] | None) -> dict[str, Any] | None:
        if schema is not None and schema.get("type") != "object":
            raise ValueError("parameters must be a JSON Schema with type: object")
        return schema

    @field_validator("mcp")
    @classmethod
    def _mcp(cls, mcp: dict[str, Any] | None) -> dict[str, Any] | None:
        if mcp is None:
            return None
        if not isinstance(mcp.get("server_label"), str):
            raise ValueError("an mcp tool needs server_label")
        if not (mcp.get("server_url") or mcp.get("connector_id")):
            raise ValueError("an mcp tool needs server_url or connector_id")
        return mcp


# ----------------------------------------------------------------------------------------- agents


class AgentSpec(Strict):
    """One agent of the graph."""

    name: Name
    instructions: Prompt
    voice: str | None = None
    handoff_description: str = ""
    tools: list[Name] = Field(default_factory=list)
    handoffs: list[Name] = Field(default_factory=list)
    guardrails: GuardrailSet = GuardrailSet()

    @field_validator("instructions")
    @classmethod
    def _instruction_placeholders(cls, text: str) -> str:
        return check_placeholders(text)


class RouteRule(Strict):
    """Calls whose dialed user (and caller, if given) fully match go to ``agent``."""

    dialed: str | None = None
    caller: str | None = None
    agent: Name

    @field_validator("dialed", "caller")
    @classmethod
    def _regex(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"bad pattern {pattern!r}: {exc}") from None
        return pattern

    @model_validator(mode="after")
    def _something(self) -> Self:
        if self.dialed is None and self.caller is None:
            raise ValueError("a route rule needs dialed or caller (use routes.default otherwise)")
        return self


class RoutesSpec(Strict):
    """Route table: first matching rule wins, else ``default``."""

    default: Name
    rules: list[RouteRule] = Field(default_factory=list)


# ------------------------------------------------------------------------------------------ graph


class GraphSpec(Strict):
    """A whole agent graph, as written in one YAML file."""

    version: Literal[1] = 1
    name: str | None = None
    session: SessionDefaults = SessionDefaults()
    phone: PhoneSettings = PhoneSettings()
    tools: list[ToolSpec] = Field(default_factory=list)
    agents: list[AgentSpec] = Field(min_length=1)
    routes: RoutesSpec

    @model_validator(mode="before")
    @classmethod
    def _drop_extensions(cls, data: Any) -> Any:
        """Top-level keys starting with ``x-`` hold YAML anchors for reuse; they are not config."""
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not str(k).startswith("x-")}
        return data

    @model_validator(mode="after")
    def _references(self, info: ValidationInfo) -> Self:
        if isinstance(info.context, dict) and info.context.get("skip_references"):
            return self
        from gateway.core.agents.references import reference_issues  # noqa: PLC0415  (cycle)

        problems = reference_issues(self.model_dump(mode="json"))
        if problems:
            raise ValueError("; ".join(f"{format_loc(loc)}: {msg}" for loc, msg in problems))
        return self

    def agent(self, name: str) -> AgentSpec:
        for agent in self.agents:
            if agent.name == name:
                return agent
        raise KeyError(name)

    def tool(self, name: str) -> ToolSpec:
        for tool in self.tools:
            if tool.name == name:
                return tool
        raise KeyError(name)


def format_loc(loc: tuple[str | int, ...]) -> str:
    """``("agents", 0, "handoffs", 1)`` -> ``agents[0].handoffs[1]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
