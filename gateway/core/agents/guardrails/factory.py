"""Build an agent's guardrails from its :class:`~gateway.core.agents.spec.GuardrailSet`.

``python`` specs name a function as ``module:function``; turning that into a callable is the
caller's job (it imports code), passed in as ``resolve``. The function's path is the guardrail's
name in trips, hits, logs and the CDR.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gateway.core.agents.guardrail_spec import (
    GuardrailSet,
    InputGuardrailSpec,
    MaxTurnLengthGuardrail,
    NoHumanClaimGuardrail,
    NoLongDigitsGuardrail,
    NoUrlsGuardrail,
    OutputGuardrailSpec,
    PhraseInputGuardrail,
    PythonInputGuardrail,
    PythonOutputGuardrail,
)
from gateway.core.agents.guardrails.base import (
    InputGuardrail,
    InputGuardrailHit,
    OutputGuardrail,
)
from gateway.core.agents.guardrails.checker import TranscriptChecker
from gateway.core.agents.guardrails.custom import CustomInput, CustomOutput
from gateway.core.agents.guardrails.digits import NoLongDigits
from gateway.core.agents.guardrails.human import NoHumanClaim
from gateway.core.agents.guardrails.length import MaxTurnLength
from gateway.core.agents.guardrails.phrases import Phrases
from gateway.core.agents.guardrails.urls import NoUrls
from gateway.errors import ConfigError, ConfigIssue

__all__ = ["Guardrails", "Resolver", "build_guardrails", "build_input", "build_output"]

Resolver = Callable[[str], Callable[..., object]]
"""``"package.module:function"`` -> the callable (imports happen outside the core)."""


def _no_resolver(path: str) -> Callable[..., object]:
    issue = ConfigIssue("<guardrails>", None, path, "no resolver for python guardrails")
    raise ConfigError([issue])


def _resolved(path: str, resolve: Resolver) -> Callable[[str], object]:
    function = resolve(path)
    if not callable(function):
        issue = ConfigIssue("<guardrails>", None, path, "does not name a callable")
        raise ConfigError([issue])
    return function


def build_output(spec: OutputGuardrailSpec, resolve: Resolver = _no_resolver) -> OutputGuardrail:
    """One output guardrail from its spec."""
    match spec:
        case NoUrlsGuardrail():
            return NoUrls()
        case NoLongDigitsGuardrail(min_digits=min_digits, keep_last=keep_last):
            return NoLongDigits(min_digits, keep_last)
        case MaxTurnLengthGuardrail(max_chars=max_chars):
            return MaxTurnLength(max_chars)
        case NoHumanClaimGuardrail():
            return NoHumanClaim()
        case PythonOutputGuardrail(function=path):
            return CustomOutput(_resolved(path, resolve), path)


def build_input(spec: InputGuardrailSpec, resolve: Resolver = _no_resolver) -> InputGuardrail:
    """One input guardrail from its spec."""
    match spec:
        case PhraseInputGuardrail():
            return Phrases(spec.phrases, spec.action, spec.target, spec.message)
        case PythonInputGuardrail():
            function = _resolved(spec.function, resolve)
            return CustomInput(
                function, spec.function, spec.action, target=spec.target, message=spec.message
            )


@dataclass(frozen=True, slots=True)
class Guardrails:
    """An agent's built guardrails and the settings that go with them."""

    output: tuple[OutputGuardrail, ...] = ()
    input: tuple[InputGuardrail, ...] = ()
    feedback: str = GuardrailSet().feedback
    """Told to the model after an output guardrail trips, so it rephrases."""
    debounce_chars: int = 100

    @property
    def fast_output(self) -> tuple[OutputGuardrail, ...]:
        return tuple(g for g in self.output if not g.slow)

    @property
    def slow_output(self) -> tuple[OutputGuardrail, ...]:
        return tuple(g for g in self.output if g.slow)

    @property
    def slow_input(self) -> tuple[InputGuardrail, ...]:
        return tuple(g for g in self.input if g.slow)

    def checker(self, debounce_chars: int | None = None) -> TranscriptChecker:
        """A transcript checker over the fast output guardrails (default debounce: the spec's)."""
        return TranscriptChecker(self.output, debounce_chars or self.debounce_chars)

    def check_input(self, text: str) -> InputGuardrailHit | None:
        """The first fast input guardrail, in configuration order, that the caller's text hits."""
        for guardrail in self.input:
            if not guardrail.slow:
                hit = guardrail.check(text)
                if hit is not None:
                    return hit
        return None


def build_guardrails(spec: GuardrailSet, resolve: Resolver = _no_resolver) -> Guardrails:
    """Every guardrail of ``spec``; ``resolve`` turns ``python`` function paths into callables."""
    return Guardrails(
        output=tuple(build_output(s, resolve) for s in spec.output),
        input=tuple(build_input(s, resolve) for s in spec.input),
        feedback=spec.feedback,
        debounce_chars=spec.debounce_chars,
    )
