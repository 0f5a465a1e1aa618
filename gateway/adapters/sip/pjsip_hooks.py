"""Hooks into the pjsip inside the pjsua2 wheel: answer what pjsua drops, refuse floods early.

Measured on pjsua2 2.15.1 (docs/pjsua2-notes.md):

* pjsip **drops** a request it cannot parse (bad header value, missing Call-ID, bad request
  line) without a word, over UDP and TCP alike; the sender retransmits for 32 s.
* a request for a method no module handles (``FOOBAR``, ``REGISTER`` to a UA, a stray BYE)
  is left unanswered too.
* pjsua opens a call's RTP and RTCP sockets **before** the application sees the INVITE, and a
  closed socket's slot in pjsip's I/O queue is reused only 500 ms later. The queue has 64
  slots, shared by SIP and media (``hasIoqueue=False``): a flood of 200 INVITEs a second that
  the application refuses one by one exhausts it within a second, and the process **aborts**
  (``pj_ioqueue_register_sock2: Assertion `!pj_list_empty(&ioqueue->free_list)'``).

pjsua2 exposes none of this, so :class:`PjsipHooks` reaches pjsip itself
(:mod:`gateway.adapters.sip.pjsip_ffi`):

==========================================  ======================================================
hook                                        what it does
==========================================  ======================================================
transport drop callback                     a dropped request whose top Via can be read gets
                                            400 / 505 / 513 (:mod:`gateway.core.sip_reject`) on
                                            the transport it came in on (a TCP reply uses its
                                            connection); a datagram reply only to a Via address
                                            in the allowed networks (the source address is not
                                            reported, so the Via must not be trusted to reflect
                                            traffic elsewhere)
admission gate (module, priority 40:        while :attr:`PjsipHooks.admission` is set (the
after the transaction and dialog layers,    gateway is full or draining), a new INVITE gets 503 +
before pjsua)                               Retry-After statelessly: no call, no socket, no
                                            application work; it is reported to be recorded
last resort (module, lowest priority)       nobody took the request: BYE, CANCEL, INFO, UPDATE,
                                            PRACK, NOTIFY, REFER get 481 (no dialog); REGISTER,
                                            PUBLISH, SUBSCRIBE... 405 + the endpoint's Allow;
                                            an unknown method 501; an ACK nothing
==========================================  ======================================================

The callbacks run on the thread that polls pjsip (``pjsua-poll``), inside pjsip's receive
path. They never raise into C, never block, and only hand what happened to ``report`` /
``refused`` (which must be thread-safe: the SIP stack posts to the loop).
"""

from __future__ import annotations

import contextlib
import ctypes
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog

from gateway.adapters.sip.endpoint import RejectedCall
from gateway.adapters.sip.pjsip_ffi import DROP_CB, RX_CB, ListHead, Module, Pjsip
from gateway.adapters.sip.pjutil import header_values, invite_fields
from gateway.core.rate_limit import RateLimitedLog
from gateway.core.sip_reject import reply_to_dropped

__all__ = ["HookEvent", "PjsipHooks", "RateLimitedLog", "StackRefusals"]

log = structlog.get_logger()

_PJSIP_ERXOVERFLOW = 171062
"""``PJSIP_ERRNO_START_PJSIP + 62``: the message outgrew the transport's receive buffer."""
_GATE_PRIORITY = 40
"""After the transaction layer (16: retransmissions) and the dialog layer (32: re-INVITEs
and other in-dialog requests), before dialog usages (48) and pjsua (64)."""
_LAST_PRIORITY = 1 << 20
_NO_DIALOG = frozenset(("BYE", "CANCEL", "INFO", "UPDATE", "PRACK", "NOTIFY", "REFER"))
"""Requests that only make sense inside a dialog or transaction none of which matched: 481."""
_KNOWN = frozenset(("INVITE", "OPTIONS", "REGISTER", "SUBSCRIBE", "PUBLISH", "MESSAGE"))
"""Other methods of RFC 3261 and its extensions: we know them, we do not serve them: 405."""


@dataclass(frozen=True, slots=True)
class HookEvent:
    """A request pjsua would have left unanswered, and what it got instead."""

    kind: str
    """``answered`` (we replied), ``unanswerable`` (dropped, no reply possible or allowed)."""
    status: int
    """The status we sent (400, 405, 481, 501, 505, 513), 0 when none."""
    method: str
    transport: str
    detail: str = ""


class PjsipHooks:
    """The three hooks of the module docstring, on one running endpoint."""

    def __init__(
        self,
        *,
        allowed: Callable[[str], bool],
        report: Callable[[HookEvent], None],
        refused: Callable[[RejectedCall], None],
    ) -> None:
        self.admission: tuple[int, str] | None = None
        """``(retry_after_s, why)`` while new INVITEs must be refused with 503; else None.
        Set by the loop, read by the gate (a plain attribute: one atomic reference)."""
        self._allowed = allowed
        self._report = report
        self._refused = refused
        self._pjsip: Pjsip | None = None
        # ctypes objects pjsip points at: they must outlive the endpoint's use of them
        self._drop_cb = DROP_CB(self._on_dropped)
        self._gate, self._gate_cb = Module(), RX_CB(self._on_new_request)
        self._last, self._last_cb = Module(), RX_CB(self._on_unhandled)
        self._allow = ListHead()
        self._retry: dict[int, ListHead] = {}
        self.installed = False

    # --- lifecycle (pjsua threads) -----------------------------------------------------------

    def install(self) -> str:
        """Command thread, endpoint running: hook in; returns ``""`` or why it could not."""
        try:
            pjsip = self._pjsip = Pjsip.load()
        except (OSError, LookupError) as exc:
            return f"pjsip not reachable: {exc}"
        if not pjsip.register(self._gate, b"mod-voicegw-gate", _GATE_PRIORITY, self._gate_cb):
            return "pjsip refused the admission module (or its layout differs)"
        if not pjsip.register(self._last, b"mod-voicegw-last", _LAST_PRIORITY, self._last_cb):
            pjsip.unregister(self._gate)
            return "pjsip refused the last-resort module (or its layout differs)"
        pjsip.header_list(self._allow, pjsip.allow_header())
        pjsip.set_drop_callback(self._drop_cb)
        self.installed = True
        return ""

    def uninstall(self) -> None:
        """Poll thread, before ``libDestroy``: unhook (pjsip keeps pointers to our objects)."""
        pjsip = self._pjsip
        if not self.installed or pjsip is None:
            return
        self.installed = False
        pjsip.set_drop_callback(DROP_CB())
        pjsip.unregister(self._last)
        pjsip.unregister(self._gate)
        pjsip.close()

    # --- dropped messages (pjsua-poll, inside pjsip) -----------------------------------------

    def _on_dropped(self, dropped: Any) -> None:
        try:
            info = dropped.contents
            data = ctypes.string_at(info.data, info.len) if info.data and info.len else b""
            if data.strip():  # CRLF keep-alives (ours wake the poll thread) are dropped too
                self._answer_dropped(data, info.tp, info.status)
        except Exception as exc:  # never raise into pjsip
            self._emit(HookEvent("unanswerable", 0, "", "", f"hook failed: {exc!r}"))

    def _answer_dropped(self, data: bytes, transport: int, status: int) -> None:
        assert self._pjsip is not None
        reply = reply_to_dropped(
            data, tag=secrets.token_hex(6), overflow=status == _PJSIP_ERXOVERFLOW
        )
        if reply is None:
            self._emit(HookEvent("unanswerable", 0, "", "", "not a request with a usable Via"))
            return
        datagram = reply.transport not in ("TCP", "TLS")
        if datagram and not (reply.host and reply.port and self._allowed(reply.host)):
            detail = f"Via {reply.host or '?'}:{reply.port} is not an allowed destination"
            self._emit(HookEvent("unanswerable", 0, reply.method, reply.transport, detail))
            return
        sent = self._pjsip.send_raw(
            reply.message, transport, reply.transport, reply.host, reply.port
        )
        event = HookEvent("answered", reply.status, reply.method, reply.transport)
        self._emit(event if sent else HookEvent("unanswerable", 0, reply.method, "", "not sent"))

    # --- the admission gate (pjsua-poll) -----------------------------------------------------

    def _on_new_request(self, rdata: int) -> int:
        """Gate module: refuse a new INVITE while closed (503 + Retry-After); True if taken."""
        admission = self.admission
        if admission is None or self._pjsip is None:
            return 0
        try:
            if self._pjsip.method(rdata) != "INVITE":
                return 0
            retry_after, why = admission
            self._pjsip.respond(rdata, 503, self._retry_after(retry_after))
            message = self._pjsip.message(rdata, "INVITE").decode("latin-1")
            fields, call_ids = invite_fields(message), header_values(message, "call-id")
            refused = RejectedCall(
                503, why, "", call_ids[0] if call_ids else "",
                fields.get("request_uri", ""), fields.get("from", ""), gated=True,
            )  # fmt: skip
            with contextlib.suppress(Exception):  # the loop is closing: nobody to tell
                self._refused(refused)
        except Exception as exc:  # never raise into pjsip; let pjsua have it
            self._emit(HookEvent("unanswerable", 0, "INVITE", "", f"gate failed: {exc!r}"))
            return 0
        return 1

    def _retry_after(self, seconds: int) -> ListHead:
        head = self._retry.get(seconds)
        if head is None and self._pjsip is not None:
            head = self._retry[seconds] = ListHead()
            self._pjsip.header_list(head, self._pjsip.retry_after_header(seconds))
        assert head is not None
        return head

    # --- the last resort (pjsua-poll) --------------------------------------------------------

    def _on_unhandled(self, rdata: int) -> int:
        """Last module: nobody took this request; answer 481, 405 or 501 (never an ACK)."""
        if self._pjsip is None:
            return 0
        try:
            method = self._pjsip.method(rdata)
            if method in ("ACK", ""):
                return 0
            status = _unhandled_status(method)
            sent = self._pjsip.respond(rdata, status, self._allow if status == 405 else None)
            self._emit(HookEvent("answered" if sent else "unanswerable", status, method, ""))
        except Exception as exc:  # never raise into pjsip
            self._emit(HookEvent("unanswerable", 0, "", "", f"hook failed: {exc!r}"))
            return 0
        return 1

    def _emit(self, event: HookEvent) -> None:
        with contextlib.suppress(Exception):  # the loop is closing: nobody is left to tell
            self._report(event)


def _unhandled_status(method: str) -> int:
    if method in _NO_DIALOG:
        return 481
    return 405 if method in _KNOWN else 501


class StackRefusals:
    """Loop side: what the SIP stack refused before a call reached the application.

    Requests the hooks answered (or could not), and INVITEs pjsua refused itself (486 with
    every slot taken, 488 / 400 for SDP it cannot use). Each is counted in :attr:`log`'s
    ``counts`` and logged (rate-limited); a refused INVITE is also handed to ``on_refused`` so
    the application can record it.
    """

    def __init__(self, on_refused: Callable[[RejectedCall], None] | None = None) -> None:
        self.log = RateLimitedLog()
        self._on_refused = on_refused
        self._recent: deque[str] = deque(maxlen=512)
        """Call-IDs refused lately: a retransmitted INVITE is answered again, recorded once."""

    @property
    def counts(self) -> dict[str, int]:
        return self.log.counts

    def request_event(self, event: HookEvent) -> None:
        key = f"{event.kind}_{event.status}" if event.status else event.kind
        fields = {"status": event.status, "method": event.method, "transport": event.transport}
        fields["detail"] = event.detail
        if (line := self.log.note(key, fields, time.monotonic())) is not None:
            log.info(f"sip_request_{event.kind}", **line)

    def invite_refused(self, refused: RejectedCall) -> None:
        if refused.sip_call_id and refused.sip_call_id in self._recent:
            return
        self._recent.append(refused.sip_call_id)
        key = f"invite_{'gated' if refused.gated else 'refused'}_{refused.status}"
        fields = {"status": refused.status, "reason": refused.reason, "source": refused.source}
        line = self.log.note(key, fields, time.monotonic())
        if line is not None and not refused.gated:  # the gateway logs its own refusals
            log.info("call_refused_by_sip_stack", **line)
        if self._on_refused is not None:
            self._on_refused(refused)
