"""``python`` guardrails: a user function ``function(text) -> str | None`` (a reason trips it).

The function is resolved from its ``module:function`` path elsewhere; these classes take the
callable. An output function may also return ``(reason, offset)`` when it knows where the
offending content starts; a bare reason gives offset 0 (the whole turn is suspect).

A function is **slow** when marked with :func:`~.base.slow_guardrail` or when it is a coroutine
function. The runtime runs slow guardrails itself, off the delta path: ``await g.acheck(text)``
calls the function and awaits it if need be (a slow synchronous function belongs in a worker
thread instead: ``g.verdict(text, await to_thread(g.function, text))``). ``check`` calls the
function synchronously and refuses coroutine functions. Nothing here awaits anything but the
user's function: no I/O, no event loop.

An input guardrail with ``action: say`` and no ``message`` says the function's reason.
Exceptions raised by the function propagate; the runtime decides what a broken guardrail means
for the call.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from gateway.core.agents.guardrails.base import (
    Action,
    GuardrailTrip,
    InputGuardrailHit,
    is_marked_slow,
)
from gateway.errors import ConfigError, ConfigIssue, LocalProtocolError

__all__ = ["CustomInput", "CustomOutput", "input_guardrail", "output_guardrail"]

GuardrailFunction = Callable[[str], object]


def _bad_result(name: str, result: object) -> ConfigError:
    message = f"returned {type(result).__name__}; expected a reason (str) or None"
    return ConfigError([ConfigIssue("<guardrail>", None, name, message)])


class _Custom:
    __slots__ = ("_async", "function", "name", "slow")

    def __init__(self, function: GuardrailFunction, name: str, slow: bool | None) -> None:
        self.function = function
        self.name = name
        self._async = inspect.iscoroutinefunction(function)
        self.slow = (self._async or is_marked_slow(function)) if slow is None else slow

    async def _acall(self, text: str) -> object:
        result = self.function(text)
        if inspect.isawaitable(result):
            result = await result
        return result

    def _call(self, text: str) -> object:
        if self._async:
            raise LocalProtocolError(
                f"guardrail {self.name} is a coroutine function; await .acheck(text) instead"
            )
        return self.function(text)


class CustomOutput(_Custom):
    """An output guardrail backed by a user function (fast unless declared slow)."""

    __slots__ = ()

    def __init__(self, function: GuardrailFunction, name: str, slow: bool | None = None) -> None:
        super().__init__(function, name, slow)

    def check(self, text: str, final: bool = True) -> GuardrailTrip | None:
        return self.verdict(text, self._call(text))

    async def acheck(self, text: str) -> GuardrailTrip | None:
        """Call the function, awaiting it if it is a coroutine function, and judge the result."""
        return self.verdict(text, await self._acall(text))

    def verdict(self, text: str, result: object) -> GuardrailTrip | None:
        """The trip a function result means: None or ``""`` pass, a reason trips."""
        if result is None or result == "":
            return None
        if isinstance(result, str):
            return GuardrailTrip(self.name, result, 0)
        if (
            isinstance(result, tuple)
            and len(result) == 2
            and isinstance(result[0], str)
            and isinstance(result[1], int)
        ):
            return GuardrailTrip(self.name, result[0], min(max(result[1], 0), len(text)))
        raise _bad_result(self.name, result)

    def hold_from(self, text: str) -> int:
        return len(text)


class CustomInput(_Custom):
    """An input guardrail backed by a user function; a reason triggers the configured action."""

    __slots__ = ("action", "message", "target")

    def __init__(
        self,
        function: GuardrailFunction,
        name: str,
        action: Action = "say",
        *,
        target: str | None = None,
        message: str | None = None,
        slow: bool | None = None,
    ) -> None:
        super().__init__(function, name, slow)
        self.action: Action = action
        self.target = target
        self.message = message

    def check(self, text: str) -> InputGuardrailHit | None:
        return self.verdict(text, self._call(text))

    async def acheck(self, text: str) -> InputGuardrailHit | None:
        """Call the function, awaiting it if it is a coroutine function, and judge the result."""
        return self.verdict(text, await self._acall(text))

    def verdict(self, text: str, result: object) -> InputGuardrailHit | None:
        if result is None or result == "":
            return None
        if not isinstance(result, str):
            raise _bad_result(self.name, result)
        message = self.message if self.message or self.action != "say" else result
        return InputGuardrailHit(self.name, result, self.action, self.target, message)


def output_guardrail(
    fn: GuardrailFunction | None = None, *, name: str | None = None, slow: bool | None = None
) -> Any:
    """Decorator: ``fn(text) -> reason | None`` as an output guardrail (bare or with options).

    Coroutine functions are slow (checked off the delta path, on the final transcript).
    """

    def build(function: GuardrailFunction) -> CustomOutput:
        label: str = name or getattr(function, "__name__", None) or "custom"
        return CustomOutput(function, label, slow)

    return build(fn) if fn is not None else build


def input_guardrail(
    fn: GuardrailFunction | None = None,
    *,
    action: Action = "say",
    target: str | None = None,
    message: str | None = None,
    name: str | None = None,
    slow: bool | None = None,
) -> Any:
    """Decorator: ``fn(caller_text) -> reason | None`` as an input guardrail with ``action``."""

    def build(function: GuardrailFunction) -> CustomInput:
        label: str = name or getattr(function, "__name__", None) or "custom"
        return CustomInput(function, label, action, target=target, message=message, slow=slow)

    return build(fn) if fn is not None else build
