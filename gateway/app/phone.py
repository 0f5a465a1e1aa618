"""What a call handler needs from the telephone side of one call.

The pjsua2 adapter implements :class:`PhoneLeg` for real SIP calls; tests implement it with
in-memory buffers. Everything the leg reports (media up, DTMF, the caller hanging up or
cancelling) arrives as :class:`LegEvent` on its ``events`` queue.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal, Protocol

from gateway.adapters.sip.media import PlayoutRing, UplinkQueue

__all__ = ["LegEvent", "PhoneLeg", "TransferOutcome"]


@dataclass(frozen=True, slots=True)
class LegEvent:
    kind: Literal["media_active", "hangup", "cancelled", "dtmf"]
    value: str = ""
    """The digit for ``dtmf``; the SIP status/reason for ``hangup`` when known."""


@dataclass(frozen=True, slots=True)
class TransferOutcome:
    ok: bool
    status: int
    """The final status the transfer target answered (from the REFER's NOTIFY), 0 if none."""
    detail: str


class PhoneLeg(Protocol):
    """The SIP side of one inbound call, driven by the call handler."""

    call_id: str
    """Our id for the call (also the CDR key)."""
    sip_call_id: str
    caller: str
    """The From URI."""
    dialed: str
    """The Request-URI (or To) of the INVITE."""
    uplink: UplinkQueue
    playout: PlayoutRing
    events: asyncio.Queue[LegEvent]

    async def ringing(self) -> None:
        """Send 180 Ringing."""

    async def answer(self) -> bool:
        """Send 200 OK (with our SDP); media starts when the ACK arrives. False when the call
        was already gone (the caller cancelled): nothing was sent."""

    async def reject(self, status: int, *, retry_after: int | None = None) -> bool:
        """Refuse the call before answering (480, 503 + Retry-After, 603 ...). False when that
        was too late (the call was answered or gone): nothing was sent."""

    async def hangup(self) -> None:
        """Send BYE (or CANCEL/final response before answer)."""

    async def transfer(self, uri: str) -> TransferOutcome:
        """Blind transfer by REFER; returns once the NOTIFY reports a final outcome."""
        ...
