"""What the session protocol asks its driver to do, and tells it: frozen, slotted dataclasses."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.core.realtime.wire import ServerEvent
from gateway.core.realtime.wire_client import ClientEvent

__all__ = [
    "Action",
    "AudioInterrupted",
    "Deliver",
    "FlushPlayout",
    "FormatMismatch",
    "PlayAudio",
    "SendEvent",
]


@dataclass(frozen=True, slots=True)
class SendEvent:
    """Send ``event`` to the server now."""

    event: ClientEvent
    event_id: str


@dataclass(frozen=True, slots=True)
class PlayAudio:
    """Queue model audio (in the session's output codec) for the caller."""

    item_id: str
    response_id: str
    content_index: int
    audio: bytes


@dataclass(frozen=True, slots=True)
class FlushPlayout:
    """Drop all unplayed audio now, then report what was played with ``playout_flushed``."""


@dataclass(frozen=True, slots=True)
class AudioInterrupted:
    """Assistant audio was cut off; ``audio_end_ms`` is where the item was truncated."""

    item_id: str | None
    audio_end_ms: int | None
    cause: str
    """``speech`` (caller barge-in), or what the application gave to ``interrupt``."""


@dataclass(frozen=True, slots=True)
class FormatMismatch:
    """The server's effective session disagrees with what we asked for (a field was ignored)."""

    field: str
    requested: object
    effective: object


@dataclass(frozen=True, slots=True)
class Deliver:
    """A server event for the application (history, tools, transcripts, errors ...)."""

    event: ServerEvent


Action = SendEvent | PlayAudio | FlushPlayout | AudioInterrupted | FormatMismatch | Deliver
