"""Guardrail models of an agent-graph file: output checks on the agent's transcript, input
checks on the caller's, and the set an agent carries (:class:`GuardrailSet`)."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from gateway.core.agents.spec_types import ImportPath, Name, Prompt, Strict

__all__ = [
    "GuardrailSet",
    "InputGuardrailSpec",
    "MaxTurnLengthGuardrail",
    "NoHumanClaimGuardrail",
    "NoLongDigitsGuardrail",
    "NoUrlsGuardrail",
    "OutputGuardrailSpec",
    "PhraseInputGuardrail",
    "PythonInputGuardrail",
    "PythonOutputGuardrail",
]


class NoUrlsGuardrail(Strict):
    """Trips on URLs, e-mail addresses and markdown, which make no sense read out."""

    type: Literal["no_urls"]


class NoLongDigitsGuardrail(Strict):
    """Trips on long digit strings (card numbers) except the last ``keep_last`` digits."""

    type: Literal["no_long_digits"]
    min_digits: int = Field(default=7, ge=3, le=32)
    keep_last: int = Field(default=4, ge=0, le=8)


class MaxTurnLengthGuardrail(Strict):
    """Trips when one spoken turn runs past ``max_chars`` of transcript."""

    type: Literal["max_turn_length"]
    max_chars: int = Field(default=600, ge=20)


class NoHumanClaimGuardrail(Strict):
    """Trips when the agent claims to be a human."""

    type: Literal["no_human_claim"]


class PythonOutputGuardrail(Strict):
    """A custom check: ``function(text) -> str | None`` (a reason trips it)."""

    type: Literal["python"]
    function: ImportPath


OutputGuardrailSpec = Annotated[
    NoUrlsGuardrail
    | NoLongDigitsGuardrail
    | MaxTurnLengthGuardrail
    | NoHumanClaimGuardrail
    | PythonOutputGuardrail,
    Field(discriminator="type"),
]


class PhraseInputGuardrail(Strict):
    """Acts when the caller says one of ``phrases`` (case-insensitive, whole words)."""

    type: Literal["phrases"]
    phrases: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)
    action: Literal["transfer", "end_call", "say"]
    target: Name | None = None
    """Transfer target name (for ``action: transfer``)."""
    message: str | None = None
    """What the agent says before acting (required for ``say``)."""

    @model_validator(mode="after")
    def _action_needs(self) -> Self:
        if self.action == "transfer" and self.target is None:
            raise ValueError("action transfer needs a target")
        if self.action == "say" and not self.message:
            raise ValueError("action say needs a message")
        return self


class PythonInputGuardrail(Strict):
    """A custom check on caller transcripts: ``function(text) -> str | None``."""

    type: Literal["python"]
    function: ImportPath
    action: Literal["transfer", "end_call", "say"] = "say"
    target: Name | None = None
    message: str | None = None


InputGuardrailSpec = Annotated[
    PhraseInputGuardrail | PythonInputGuardrail, Field(discriminator="type")
]


class GuardrailSet(Strict):
    """An agent's guardrails: output (on its transcript) and input (on the caller's)."""

    output: list[OutputGuardrailSpec] = Field(default_factory=list)
    input: list[InputGuardrailSpec] = Field(default_factory=list)
    feedback: Prompt = (
        "Your last answer broke a phone rule and was cut off. Apologise briefly and answer "
        "again without it."
    )
    """Told to the model after an output guardrail trips, so it rephrases."""
    debounce_chars: int = Field(default=100, ge=1)
