"""pjsua2 glue for the probe: account and call subclasses whose callbacks only post to the loop.

Every callback snapshots what it needs (call info, digits, statuses) on the pjsua thread that
runs it and hands that to ``Sink.post``, which records the thread and does
``call_soon_threadsafe``. Nothing else happens on pjsua's threads.

A probe lives for a few calls, so it passes Call objects to the loop and keeps them to the end.
A long-lived gateway must not: pjsua reuses call ids, and a stale Call object's destructor
detaches (and hangs up) whichever call has its id by then (docs/pjsua2-notes.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import pjsua2 as pj

__all__ = ["ProbeAccount", "ProbeCall", "Sink", "account_config"]


class Sink(Protocol):
    """Where callbacks go: the probe on the asyncio loop."""

    def post(self, kind: str, fn: Callable[..., object], *args: Any) -> None: ...

    def on_incoming(self, call: ProbeCall, whole_msg: str, source: str) -> None: ...
    def on_call_state(self, call: ProbeCall, state: int, code: int, reason: str) -> None: ...
    def on_media_state(self, call: ProbeCall) -> None: ...
    def on_dtmf(self, digit: str, method: int) -> None: ...
    def on_transfer_status(self, code: int, reason: str, final: bool) -> None: ...
    def on_transfer_request(self, new_call: ProbeCall, target: str) -> None: ...
    def on_reg_state(self, code: int, reason: str, expiration: int) -> None: ...
    def on_replaced(self, new_call: ProbeCall) -> None: ...


class ProbeAccount(pj.Account):  # type: ignore[misc]  # pjsua2 is untyped
    def __init__(self, sink: Sink) -> None:
        super().__init__()
        self._sink = sink

    def onIncomingCall(self, prm: Any) -> None:
        call = ProbeCall(self._sink, self, prm.callId)
        rdata = prm.rdata
        self._sink.post("incoming", self._sink.on_incoming, call, rdata.wholeMsg, rdata.srcAddress)

    def onRegState(self, prm: Any) -> None:
        self._sink.post("reg_state", self._sink.on_reg_state, prm.code, prm.reason, prm.expiration)


class ProbeCall(pj.Call):  # type: ignore[misc]  # pjsua2 is untyped
    def __init__(
        self, sink: Sink, account: ProbeAccount, call_id: int = pj.PJSUA_INVALID_ID
    ) -> None:
        super().__init__(account, call_id)
        self._sink = sink
        self._account = account

    def onCallState(self, prm: Any) -> None:
        info = self.getInfo()
        self._sink.post(
            "call_state",
            self._sink.on_call_state,
            self,
            info.state,
            info.lastStatusCode,
            info.lastReason,
        )

    def onCallMediaState(self, prm: Any) -> None:
        self._sink.post("media_state", self._sink.on_media_state, self)

    def onDtmfDigit(self, prm: Any) -> None:
        self._sink.post("dtmf", self._sink.on_dtmf, prm.digit, prm.method)

    def onCallTransferStatus(self, prm: Any) -> None:
        self._sink.post(
            "transfer_status",
            self._sink.on_transfer_status,
            prm.statusCode,
            prm.reason,
            prm.finalNotify,
        )

    def onCallTransferRequest(self, prm: Any) -> None:
        # pjsua2 places the new call itself; the application supplies its Call object here.
        new_call = ProbeCall(self._sink, self._account)
        prm.newCall = new_call
        self._sink.post("transfer_request", self._sink.on_transfer_request, new_call, prm.dstUri)

    def onCallReplaced(self, prm: Any) -> None:
        # An INVITE with Replaces took this call's place; the application supplies the new
        # call's object (as for a transfer request).
        new_call = ProbeCall(self._sink, self._account, prm.newCallId)
        prm.newCall = new_call
        self._sink.post("replaced", self._sink.on_replaced, new_call)


def account_config(
    sip_port: int,
    *,
    srtp: bool = False,
    registrar: str = "",
    username: str = "",
    password: str = "",
) -> Any:
    cfg = pj.AccountConfig()
    user = username or "probe"
    cfg.idUri = f"sip:{user}@127.0.0.1:{sip_port}"
    cfg.mediaConfig.transportConfig.boundAddress = "127.0.0.1"
    if srtp:
        cfg.mediaConfig.srtpUse = pj.PJMEDIA_SRTP_MANDATORY
        cfg.mediaConfig.srtpSecureSignaling = 0  # SDES keys over plain UDP: loopback test only
    if registrar:
        cfg.idUri = f"sip:{user}@{registrar.removeprefix('sip:')}"
        cfg.regConfig.registrarUri = registrar
        cred = pj.AuthCredInfo("digest", "*", username, 0, password)
        cfg.sipConfig.authCreds.append(cred)
    return cfg
