"""The schema walker reports the first problem in the API's words, with a dotted path."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.emulator.schema import (
    AnyOf,
    Arr,
    Bool,
    ClientEventError,
    Int,
    Nullable,
    Num,
    Obj,
    Str,
    Tagged,
    check,
    supported_values,
)

SPEC = Obj(
    {
        "name": Str(),
        "count": Int(1, 10),
        "ratio": Num(0.0, 1.0),
        "on": Bool(),
        "tags": Arr(Str(("a", "b")), max_len=2),
        "shape": Tagged(
            "type", {"dot": Obj({"type": Str()}), "line": Obj({"type": Str(), "n": Int()})}
        ),
        "choice": AnyOf((Str(("auto",)), Obj({"x": Int()}))),
        "maybe": Nullable(Obj({})),
    },
    frozenset({"name"}),
)


def _error(value: Any) -> ClientEventError:
    with pytest.raises(ClientEventError) as caught:
        check(value, SPEC, "thing")
    return caught.value


def test_a_valid_value_passes() -> None:
    """Everything within the spec raises nothing."""
    check(
        {
            "name": "n",
            "count": 3,
            "ratio": 1,
            "on": False,
            "tags": ["a"],
            "shape": {"type": "line", "n": 2},
            "choice": {"x": 1},
            "maybe": None,
        },
        SPEC,
        "thing",
    )


@pytest.mark.parametrize(
    ("value", "code", "param", "message"),
    [
        (
            {"name": "n", "extra": 1},
            "unknown_parameter",
            "thing.extra",
            "Unknown parameter: 'thing.extra'.",
        ),
        (
            {},
            "missing_required_parameter",
            "thing.name",
            "Missing required parameter: 'thing.name'.",
        ),
        (
            {"name": 5},
            "invalid_type",
            "thing.name",
            "Invalid type for 'thing.name': expected a string, but got an integer instead.",
        ),
        (
            {"name": "n", "on": 1},
            "invalid_type",
            "thing.on",
            "Invalid type for 'thing.on': expected a boolean, but got an integer instead.",
        ),
        (
            {"name": "n", "count": True},
            "invalid_type",
            "thing.count",
            "Invalid type for 'thing.count': expected an integer, but got a boolean instead.",
        ),
        (
            {"name": "n", "count": 0},
            "integer_below_min_value",
            "thing.count",
            "Invalid 'thing.count': integer below minimum value. "
            "Expected a value >= 1, but got 0 instead.",
        ),
        (
            {"name": "n", "ratio": 1.5},
            "decimal_above_max_value",
            "thing.ratio",
            "Invalid 'thing.ratio': decimal above maximum value. "
            "Expected a value <= 1, but got 1.5 instead.",
        ),
        (
            {"name": "n", "tags": ["a", "c"]},
            "invalid_value",
            "thing.tags[1]",
            "Invalid value: 'c'. Supported values are: 'a' and 'b'.",
        ),
        (
            {"name": "n", "tags": ["a", "a", "a"]},
            "array_above_max_length",
            "thing.tags",
            "Invalid 'thing.tags': array too long. Expected an array with maximum length 2, "
            "but got an array with length 3 instead.",
        ),
        (
            {"name": "n", "shape": {"type": "circle"}},
            "invalid_value",
            "thing.shape.type",
            "Invalid value: 'circle'. Supported values are: 'dot' and 'line'.",
        ),
        (
            {"name": "n", "shape": {}},
            "missing_required_parameter",
            "thing.shape.type",
            "Missing required parameter: 'thing.shape.type'.",
        ),
        (
            {"name": "n", "shape": None},
            "invalid_type",
            "thing.shape",
            "Invalid type for 'thing.shape': expected an object, but got null instead.",
        ),
        (
            {"name": "n", "choice": 3},
            "invalid_type",
            "thing.choice",
            "Invalid type for 'thing.choice': expected one of a string or an object, "
            "but got an integer instead.",
        ),
    ],
)
def test_errors_name_the_path_in_the_apis_words(
    value: dict[str, Any], code: str, param: str, message: str
) -> None:
    """Each kind of problem maps to the API's code, param and message."""
    error = _error(value)
    assert (error.code, error.param, error.message) == (code, param, message)
    assert error.kind == "invalid_request_error"


def test_supported_values_are_listed_like_the_api() -> None:
    """One, two and three values read as the API writes them."""
    assert supported_values(["a"]) == "'a'"
    assert supported_values(["a", "b"]) == "'a' and 'b'"
    assert supported_values(["a", "b", "c"]) == "'a', 'b', and 'c'"
