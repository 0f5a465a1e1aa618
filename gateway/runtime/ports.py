"""What the runtime needs from the outside: a Realtime connection and (optionally) a player."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from gateway.core.agents.spec import SessionDefaults
from gateway.core.realtime.wire_client import TracingConfig
from gateway.errors import GatewayError

__all__ = [
    "Connection",
    "ConnectionLost",
    "Connector",
    "PlayoutSink",
    "SessionSettings",
]


class ConnectionLost(GatewayError):
    """The Realtime connection closed or broke."""

    def __init__(self, reason: str, *, code: int | None = None, final: bool = False) -> None:
        super().__init__(reason)
        self.code = code
        self.final = final
        """Retrying cannot help (e.g. the attached SIP call has ended): stop reconnecting."""


class Connection(Protocol):
    """One Realtime WebSocket (or a fake): text messages both ways."""

    async def send(self, message: str) -> None: ...

    async def recv(self) -> str | bytes:
        """The next server message; raises :class:`ConnectionLost` when the socket is gone."""
        ...

    async def close(self) -> None: ...


Connector = Callable[[], Awaitable[Connection]]
"""Opens a new connection (the same session URL each time: a new session, or the same call)."""


class PlayoutSink(Protocol):
    """Where model audio goes when the gateway owns playout (the SIP media ring).

    Counts are in bytes of the session's output codec, per assistant ``item_id``.
    """

    def push(self, item_id: str, audio: bytes) -> None: ...

    def flush(self) -> dict[str, int]:
        """Drop everything unplayed now; return bytes played per item since the last report."""
        ...

    def take_played(self) -> dict[str, int]:
        """Bytes played per item since the last report, without dropping anything."""
        ...

    def pending_ms(self) -> int:
        """Milliseconds of audio queued and not yet played."""
        ...

    def finish(self, item_id: str) -> None:
        """No more audio will come for ``item_id``: play out any partial frame it left."""
        ...

    # guarded playout (a sink that does not gate implements these as no-ops)
    gating: bool
    """Hold each new item's audio until :meth:`gate_text` releases it."""

    def gate_text(self, item_id: str, safe_chars: int, total_chars: int) -> None:
        """The item's transcript is ``total_chars`` long and clean up to ``safe_chars``."""
        ...

    def gate_text_done(self, item_id: str, total_chars: int, clean: bool) -> None: ...

    def release_all(self) -> None:
        """Stop holding anything (the response is over)."""
        ...


@dataclass(frozen=True, slots=True)
class SessionSettings:
    """How a session behaves, from the graph (``session`` / ``phone``) and the transport."""

    defaults: SessionDefaults = field(default_factory=SessionDefaults)
    transfer_targets: Mapping[str, str] = field(default_factory=dict)
    greeting: str | None = None
    tracing: TracingConfig | None = None
    sip_attach: bool = False
    """Attached to an OpenAI SIP call: the server owns playout; no formats in updates."""
    reconnect_deadline_s: float = 2.0
    """Give up reconnecting after this long (the caller hears a fallback, not dead air)."""
    recycle_after_s: float = 55 * 60
    """Reconnect proactively at the next quiet moment after this long (the cap is 60 min)."""
    approval_timeout_s: float = 30.0
    guarded_playout: bool = True
    """Hold agent audio until its transcript passed the fast guardrails (own playout only)."""
