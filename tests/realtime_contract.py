"""Check events against the official ``openai`` package's Realtime GA types.

Our client and our emulator must not merely agree with each other: each event they put on the
wire is validated here against an independent source, the types OpenAI generates from its API
spec. Client events are checked with the SDK's request TypedDicts (the validated form must equal
the original, so unknown or beta-named fields fail); server events with the SDK's response
models (no field may land in ``model_extra``).
"""

from __future__ import annotations

import typing
from collections.abc import Iterator
from functools import cache
from typing import Any

from openai.types.realtime import RealtimeClientEventParam, RealtimeServerEvent
from pydantic import BaseModel, TypeAdapter

__all__ = ["assert_ga_client_event", "assert_ga_server_event"]


def _members(union: Any) -> list[Any]:
    while typing.get_origin(union) is typing.Annotated:
        union = typing.get_args(union)[0]
    return list(typing.get_args(union))


def _literal_type(cls: Any) -> str:
    if isinstance(cls, type) and issubclass(cls, BaseModel):
        annotation = cls.model_fields["type"].annotation
    else:
        annotation = typing.get_type_hints(cls, include_extras=True)["type"]
        while typing.get_origin(annotation) in (typing.Required, typing.NotRequired):
            annotation = typing.get_args(annotation)[0]
    (value,) = typing.get_args(annotation)
    return str(value)


@cache
def _server_models() -> dict[str, type[BaseModel]]:
    return {_literal_type(cls): cls for cls in _members(RealtimeServerEvent)}


@cache
def _client_adapters() -> dict[str, TypeAdapter[Any]]:
    return {_literal_type(cls): TypeAdapter(cls) for cls in _members(RealtimeClientEventParam)}


def _extras(model: Any, path: str = "") -> list[str]:
    found: list[str] = []
    if isinstance(model, BaseModel):
        found += [f"{path}.{k}" for k in (model.model_extra or {})]
        for name in type(model).model_fields:
            found += _extras(getattr(model, name), f"{path}.{name}")
    elif isinstance(model, list | tuple):
        for i, item in enumerate(model):
            found += _extras(item, f"{path}[{i}]")
    return found


_SESSION_EXTRAS = {"object": "realtime.session", "id": "sess_", "expires_at": int}
"""Fields OpenAI's own ``session.created`` example carries that the SDK's session type lacks
(tests/data/openai-realtime/ga/server/session.created.not-strict-json.txt): checked by hand."""


def _strip_session_extras(event: dict[str, Any]) -> dict[str, Any]:
    session = dict(event["session"])
    for name, expected in _SESSION_EXTRAS.items():
        if name not in session:
            continue
        value = session.pop(name)
        if expected is int:
            assert isinstance(value, int), f"session.{name} must be an integer"
        else:
            assert str(value).startswith(str(expected)), f"session.{name} is {value!r}"
    return {**event, "session": session}


def assert_ga_server_event(event: dict[str, Any]) -> None:
    """Fail unless ``event`` is a GA server event with only fields the SDK knows."""
    kind = event.get("type")
    if kind in ("session.created", "session.updated") and isinstance(event.get("session"), dict):
        event = _strip_session_extras(event)
    model = _server_models().get(str(kind))
    assert model is not None, f"not a GA server event type: {kind!r}"
    parsed = model.model_validate(event)
    extras = _extras(parsed)
    assert not extras, f"{kind}: fields unknown to the GA types: {extras}"


def assert_ga_client_event(event: dict[str, Any]) -> None:
    """Fail unless ``event`` is a GA client event; unknown (e.g. beta) fields fail too."""
    kind = event.get("type")
    adapter = _client_adapters().get(str(kind))
    assert adapter is not None, f"not a GA client event type: {kind!r}"
    validated = adapter.validate_python(event)
    assert _plain(validated) == _plain(event), f"{kind}: fields unknown to the GA types"


def _plain(value: Any) -> Any:
    """Nested plain data; the SDK's ``Iterable[...]`` fields validate to lazy iterators."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | Iterator):
        return [_plain(v) for v in value]
    return value
