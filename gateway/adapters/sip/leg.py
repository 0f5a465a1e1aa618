"""One inbound SIP call as the call handler sees it (:class:`~gateway.app.phone.PhoneLeg`)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gateway.adapters.sip.media import PlayoutRing, UplinkQueue
from gateway.adapters.sip.pjutil import header_values, invite_fields
from gateway.app.phone import LegEvent, TransferOutcome

if TYPE_CHECKING:
    from gateway.adapters.sip.stack import SipStack

__all__ = ["InviteInfo", "SipLeg"]


@dataclass(frozen=True, slots=True)
class InviteInfo:
    """What an INVITE said, read on the pjsua thread that received it."""

    key: int
    sip_call_id: str
    request_uri: str
    from_uri: str
    to_uri: str
    source: str
    authorization: tuple[str, ...]

    @property
    def source_host(self) -> str:
        host = self.source.rsplit(":", 1)[0] if self.source.count(":") == 1 else self.source
        if host.startswith("[") and "]" in host:  # [::1]:5060
            host = host[1 : host.index("]")]
        return host

    @classmethod
    def parse(cls, key: int, whole_msg: str, source: str) -> InviteInfo:
        fields = invite_fields(whole_msg)
        call_ids = header_values(whole_msg, "call-id")
        return cls(
            key=key,
            sip_call_id=call_ids[0] if call_ids else "",
            request_uri=fields.get("request_uri", ""),
            from_uri=fields.get("from", ""),
            to_uri=fields.get("to", ""),
            source=source,
            authorization=tuple(header_values(whole_msg, "authorization")),
        )


class SipLeg:
    """A :class:`PhoneLeg` on a pjsua2 call, driven through its :class:`SipStack`."""

    def __init__(self, stack: SipStack, info: InviteInfo, *, call_id: str = "") -> None:
        self._stack = stack
        self.info = info
        self.key = info.key
        self.call_id = call_id or f"sip-{info.key}-{info.sip_call_id[:24]}"
        self.sip_call_id = info.sip_call_id
        self.caller = info.from_uri
        self.dialed = info.request_uri or info.to_uri
        self.uplink = UplinkQueue()
        self.playout = PlayoutRing()
        self.events: asyncio.Queue[LegEvent] = asyncio.Queue()
        self.answered = False
        self.attended_transfer = False
        self.srtp: bool | None = None
        """Whether the media is SRTP (None: SRTP is off in the gateway's settings)."""

    async def ringing(self) -> None:
        await self._stack.respond(self.key, 180)

    async def answer(self) -> bool:
        self.answered = True  # before the 200 leaves: a BYE right after it is a hang-up
        sent = await self._stack.respond(self.key, 200)
        self.answered = sent
        return sent

    async def reject(self, status: int, *, retry_after: int | None = None) -> bool:
        return await self._stack.respond(self.key, status, retry_after=retry_after)

    async def hangup(self) -> None:
        await self._stack.hangup(self.key)

    async def transfer(self, uri: str) -> TransferOutcome:
        return await self._stack.transfer(self.key, uri, attended=self.attended_transfer)
