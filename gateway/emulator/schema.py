"""A small declarative JSON schema that rejects client events the way the Realtime API does.

The emulator must answer a malformed event with the *same* ``error`` the real service sends:
``unknown_parameter`` for a beta-named field (``Unknown parameter: 'session.voice'.``),
``invalid_type`` for a ``null`` format, ``invalid_value`` for a value outside an enum, and so
on, each with the dotted ``param`` path. A general validator (pydantic) reports other words and
paths (with union tags in them), so the GA event shapes are written as data here and checked by
one walker that stops at the first problem, as the API does.

Specs: :class:`Str`, :class:`Int`, :class:`Num`, :class:`Bool`, :class:`Arr`, :class:`Obj`,
:class:`Tagged` (an object discriminated by one string field), :class:`AnyOf` (first option
whose JSON kind fits), :class:`Nullable` and :class:`Anything`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.errors import RemoteProtocolError

__all__ = [
    "AnyOf",
    "Anything",
    "Arr",
    "Bool",
    "ClientEventError",
    "Int",
    "Nullable",
    "Num",
    "Obj",
    "Spec",
    "Str",
    "Tagged",
    "check",
    "supported_values",
]


class ClientEventError(RemoteProtocolError):
    """A client event the emulated API refuses; becomes one ``error`` server event."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        kind: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param
        self.kind = kind
        self.client_event_id: str | None = None


@dataclass(frozen=True, slots=True)
class Str:
    enum: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Int:
    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True, slots=True)
class Num:
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True, slots=True)
class Bool:
    pass


@dataclass(frozen=True, slots=True)
class Anything:
    pass


@dataclass(frozen=True, slots=True)
class Arr:
    item: Spec
    max_len: int | None = None


@dataclass(frozen=True, slots=True)
class Obj:
    fields: Mapping[str, Spec]
    required: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class Tagged:
    """An object whose string field ``tag`` picks the spec (an :class:`Obj` or another tag)."""

    tag: str
    variants: Mapping[str, Spec]


@dataclass(frozen=True, slots=True)
class AnyOf:
    options: tuple[Spec, ...]


@dataclass(frozen=True, slots=True)
class Nullable:
    inner: Spec


Spec = Str | Int | Num | Bool | Anything | Arr | Obj | Tagged | AnyOf | Nullable


def supported_values(values: tuple[str, ...] | list[str]) -> str:
    """``'a', 'b', and 'c'`` as in the API's ``Supported values are: ...`` messages."""
    quoted = [f"'{v}'" for v in values]
    if len(quoted) < 3:
        return " and ".join(quoted)
    return ", ".join(quoted[:-1]) + f", and {quoted[-1]}"


def check(value: Any, spec: Spec, path: str) -> None:
    """Raise :class:`ClientEventError` for the first way ``value`` breaks ``spec``."""
    _CHECKERS[type(spec)](value, spec, path)


# ----------------------------------------------------------------------------- JSON kinds


_KINDS: tuple[tuple[type, str], ...] = (
    (type(None), "null"),
    (bool, "a boolean"),  # before int: bool is an int in Python, not in JSON
    (int, "an integer"),
    (float, "a decimal"),
    (str, "a string"),
    (list, "an array"),
)


def _kind(value: Any) -> str:
    return next((name for kind, name in _KINDS if isinstance(value, kind)), "an object")


_EXPECTED: dict[type, str] = {
    Str: "a string",
    Int: "an integer",
    Num: "a number",
    Bool: "a boolean",
    Arr: "an array",
    Obj: "an object",
    Tagged: "an object",
}


def _fits(value: Any, spec: Spec) -> bool:
    """Whether ``value`` has the JSON kind ``spec`` wants (its contents are not looked at)."""
    if isinstance(spec, Nullable):
        return value is None or _fits(value, spec.inner)
    if isinstance(spec, AnyOf):
        return any(_fits(value, option) for option in spec.options)
    if isinstance(spec, Anything):
        return True
    if isinstance(value, bool):
        return isinstance(spec, Bool)
    kinds: dict[type, type | tuple[type, ...]] = {
        Str: str,
        Int: int,
        Num: (int, float),
        Bool: bool,
        Arr: list,
        Obj: dict,
        Tagged: dict,
    }
    return isinstance(value, kinds[type(spec)])


def _type_error(value: Any, expected: str, path: str) -> ClientEventError:
    return ClientEventError(
        f"Invalid type for '{path}': expected {expected}, but got {_kind(value)} instead.",
        code="invalid_type",
        param=path,
    )


def _require_kind(value: Any, spec: Spec, path: str) -> None:
    if not _fits(value, spec):
        raise _type_error(value, _EXPECTED[type(spec)], path)


# ----------------------------------------------------------------------------- checkers


def _check_str(value: Any, spec: Str, path: str) -> None:
    _require_kind(value, spec, path)
    if spec.enum is not None and value not in spec.enum:
        raise ClientEventError(
            f"Invalid value: '{value}'. Supported values are: {supported_values(spec.enum)}.",
            code="invalid_value",
            param=path,
        )


def _range_error(value: float, bound: float, path: str, what: str, above: bool) -> None:
    side, op, code = (
        ("above maximum", "<=", "above_max") if above else ("below minimum", ">=", "below_min")
    )
    raise ClientEventError(
        f"Invalid '{path}': {what} {side} value. "
        f"Expected a value {op} {bound:g}, but got {value:g} instead.",
        code=f"{what}_{code}_value",
        param=path,
    )


def _check_number(value: Any, spec: Int | Num, path: str) -> None:
    _require_kind(value, spec, path)
    what = "integer" if isinstance(spec, Int) else "decimal"
    if spec.minimum is not None and value < spec.minimum:
        _range_error(value, spec.minimum, path, what, above=False)
    if spec.maximum is not None and value > spec.maximum:
        _range_error(value, spec.maximum, path, what, above=True)


def _check_bool(value: Any, spec: Bool, path: str) -> None:
    _require_kind(value, spec, path)


def _check_anything(value: Any, spec: Anything, path: str) -> None:
    return


def _check_arr(value: Any, spec: Arr, path: str) -> None:
    _require_kind(value, spec, path)
    if spec.max_len is not None and len(value) > spec.max_len:
        raise ClientEventError(
            f"Invalid '{path}': array too long. Expected an array with maximum length "
            f"{spec.max_len}, but got an array with length {len(value)} instead.",
            code="array_above_max_length",
            param=path,
        )
    for index, item in enumerate(value):
        check(item, spec.item, f"{path}[{index}]")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _check_obj(value: Any, spec: Obj, path: str) -> None:
    _require_kind(value, spec, path)
    for key in value:
        if key not in spec.fields:
            where = _join(path, key)
            raise ClientEventError(
                f"Unknown parameter: '{where}'.", code="unknown_parameter", param=where
            )
    for key in sorted(spec.required):
        if key not in value:
            _missing(_join(path, key))
    for key, item in value.items():
        check(item, spec.fields[key], _join(path, key))


def _missing(path: str) -> None:
    raise ClientEventError(
        f"Missing required parameter: '{path}'.", code="missing_required_parameter", param=path
    )


def _check_tagged(value: Any, spec: Tagged, path: str) -> None:
    _require_kind(value, spec, path)
    tag_path = _join(path, spec.tag)
    if spec.tag not in value:
        _missing(tag_path)
    check(value[spec.tag], Str(tuple(spec.variants)), tag_path)
    check(value, spec.variants[value[spec.tag]], path)


def _check_any_of(value: Any, spec: AnyOf, path: str) -> None:
    for option in spec.options:
        if _fits(value, option):
            check(value, option, path)
            return
    expected = " or ".join(dict.fromkeys(_EXPECTED[type(o)] for o in spec.options))
    raise _type_error(value, f"one of {expected}", path)


def _check_nullable(value: Any, spec: Nullable, path: str) -> None:
    if value is not None:
        check(value, spec.inner, path)


_CHECKERS: dict[type, Callable[[Any, Any, str], None]] = {
    Str: _check_str,
    Int: _check_number,
    Num: _check_number,
    Bool: _check_bool,
    Anything: _check_anything,
    Arr: _check_arr,
    Obj: _check_obj,
    Tagged: _check_tagged,
    AnyOf: _check_any_of,
    Nullable: _check_nullable,
}
