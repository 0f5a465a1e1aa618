"""A scripted Realtime server for unit tests of code built on :class:`RealtimeSession`.

Write the conversation as steps: what the client must send (``expect``) and what the server
answers (``emit``); ``drop`` breaks the connection (the runtime reconnects through the same
fake). Run the code under test against ``fake.connector``, then call ``assert_complete()``::

    fake = ScriptedRealtime()
    fake.expect("session.update").expect("response.create")
    fake.emit("response.created", response={"id": "resp_1", "status": "in_progress"})
    ...
    session = RealtimeSession(agent, ctx, fake.connector, settings)
    ...
    fake.assert_complete()

Client messages that match no step are recorded; ``input_audio_buffer.append`` is ignored
unless expected. Emitted events get an ``event_id`` if they have none.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from gateway.runtime.ports import Connection, ConnectionLost

__all__ = ["ScriptedRealtime"]

_DROP = object()


@dataclass
class _Step:
    kind: str  # expect | emit | drop
    type: str = ""
    fields: dict[str, Any] = field(default_factory=dict)


def _matches(expected: dict[str, Any], actual: Any) -> bool:
    """Every key of ``expected`` is in ``actual`` with a matching value (recursively; lists
    match element-wise and must have the same length)."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and _matches(v, actual[k]) for k, v in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(_matches(e, a) for e, a in zip(expected, actual, strict=True))
        )
    return bool(expected == actual)


class ScriptedRealtime:
    """A fake Realtime endpoint following a script; see the module docstring."""

    def __init__(self, *, session_created: bool = True) -> None:
        self._steps: list[_Step] = []
        self._pos = 0
        self._current: _FakeConnection | None = None
        self._ids = itertools.count(1)
        self._session_created = session_created
        self.sent: list[dict[str, Any]] = []
        """Every client event received, in order (audio appends included)."""
        self.unexpected: list[dict[str, Any]] = []
        self.connections = 0

    # ---------------------------------------------------------------------------------- script

    def expect(self, type: str, **fields: Any) -> ScriptedRealtime:
        self._steps.append(_Step("expect", type, fields))
        return self

    def emit(self, type: str, **fields: Any) -> ScriptedRealtime:
        self._steps.append(_Step("emit", type, fields))
        return self

    def drop(self) -> ScriptedRealtime:
        """Break the connection at this point (as if the network failed)."""
        self._steps.append(_Step("drop"))
        return self

    def push(self, type: str, **fields: Any) -> None:
        """Send a server event now, outside the script (e.g. caller speech at a chosen moment)."""
        self._queue_event(type, fields)

    def assert_complete(self) -> None:
        left = [f"{s.kind} {s.type}".strip() for s in self._steps[self._pos :]]
        assert not left, f"script not finished; waiting for: {left}"
        assert not self.unexpected, f"unexpected client events: {self.unexpected}"

    # ------------------------------------------------------------------------------ transport

    async def connector(self) -> Connection:
        """Open a connection; events emitted from now on go to it (an older one is dead)."""
        self.connections += 1
        self._current = _FakeConnection(self)
        if self._session_created:
            self._queue_event("session.created", {"session": {"type": "realtime"}})
        self._run_emits()
        return self._current

    def _queue_event(self, kind: str, fields: dict[str, Any]) -> None:
        event = {"type": kind, **fields}
        event.setdefault("event_id", f"event_fake_{next(self._ids)}")
        assert self._current is not None
        self._current.inbox.put_nowait(json.dumps(event))

    def _run_emits(self) -> None:
        while self._pos < len(self._steps) and self._steps[self._pos].kind != "expect":
            step = self._steps[self._pos]
            self._pos += 1
            if step.kind == "drop":
                assert self._current is not None
                self._current.inbox.put_nowait(_DROP)
                return
            self._queue_event(step.type, step.fields)

    def _received(self, message: str) -> None:
        event = json.loads(message)
        self.sent.append(event)
        step = self._steps[self._pos] if self._pos < len(self._steps) else None
        if step is not None and step.type == event.get("type") and _matches(step.fields, event):
            self._pos += 1
            self._run_emits()
        elif event.get("type") != "input_audio_buffer.append":
            self.unexpected.append(event)


class _FakeConnection:
    def __init__(self, fake: ScriptedRealtime) -> None:
        self._fake = fake
        self._closed = False
        self.inbox: asyncio.Queue[object] = asyncio.Queue()

    async def send(self, message: str) -> None:
        if self._closed:
            raise ConnectionLost("socket closed (fake)")
        self._fake._received(message)

    async def recv(self) -> str | bytes:
        if self._closed:
            raise ConnectionLost("socket closed (fake)")
        item = await self.inbox.get()
        if item is _DROP:
            self._closed = True
            raise ConnectionLost("socket closed (None: no close frame)")
        assert isinstance(item, str)
        return item

    async def close(self) -> None:
        self._closed = True
        self.inbox.put_nowait(_DROP)
