"""The pjsua2 subclasses the stack registers: each callback snapshots and posts to the loop.

They run on pjsua threads and hold no state of their own beyond the call's *key*; the
:class:`~gateway.adapters.sip.stack.SipStack` they report to does the rest on the loop.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import pjsua2 as pj

from gateway.adapters.sip.leg import InviteInfo

if TYPE_CHECKING:
    from gateway.adapters.sip.stack import SipStack

__all__ = ["StackAccount", "StackCall", "next_key"]

_keys = itertools.count(1)


def next_key() -> int:
    """A key for a new call: unlike pjsua's call ids, never reused."""
    return next(_keys)


class StackAccount(pj.Account):  # type: ignore[misc]  # pjsua2 is untyped
    def __init__(self, stack: SipStack) -> None:
        super().__init__()
        self._stack = stack

    def onIncomingCall(self, prm: Any) -> None:
        key = next_key()
        call = StackCall(self._stack, self, key, prm.callId)
        self._stack.calls[key] = self._stack.pjsua.track(call)
        rdata = prm.rdata
        info = InviteInfo.parse(key, rdata.wholeMsg, rdata.srcAddress)
        self._stack.post(self._stack.on_incoming, info)

    def onRegState(self, prm: Any) -> None:
        self._stack.post(self._stack.on_reg_state, prm.code, prm.reason, prm.expiration)


class StackCall(pj.Call):  # type: ignore[misc]  # pjsua2 is untyped
    def __init__(
        self, stack: SipStack, account: StackAccount, key: int, call_id: int = pj.PJSUA_INVALID_ID
    ) -> None:
        super().__init__(account, call_id)
        self._stack = stack
        self.key = key

    def onCallState(self, prm: Any) -> None:
        info = self.getInfo()
        confirmed = info.state == pj.PJSIP_INV_STATE_CONFIRMED
        self._stack.post(
            self._stack.on_state,
            self.key,
            info.state,
            info.lastStatusCode,
            info.lastReason,
            confirmed,
        )
        if confirmed:
            self._stack.post(self._stack.on_confirmed, self.key)

    def onCallMediaState(self, prm: Any) -> None:
        self._stack.post(self._stack.on_media, self.key)

    def onDtmfDigit(self, prm: Any) -> None:
        self._stack.post(self._stack.on_dtmf, self.key, prm.digit)

    def onCallTransferStatus(self, prm: Any) -> None:
        prm.cont = True
        self._stack.post(
            self._stack.on_transfer_status, self.key, prm.statusCode, prm.reason, prm.finalNotify
        )

    def onCallTransferRequest(self, prm: Any) -> None:
        prm.statusCode = 603  # we transfer callers; callers do not transfer us

    def onCallReplaceRequest(self, prm: Any) -> None:
        # An INVITE with Replaces for this call (a PBX's attended transfer onto it): pjsua
        # would accept it without onIncomingCall, so the new call would get no handler, no
        # media port, no CDR and none of the allowed-network or digest checks. Refuse it.
        prm.statusCode = 603
        prm.reason = "Replaces not supported"
        self._stack.post(self._stack.on_replace_refused, self.key)
