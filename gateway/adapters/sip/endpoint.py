"""The process's one pjsua2 endpoint, on threads it owns, as measured in docs/pjsua2-notes.md.

Threads (the only ones that touch pjsua2 besides pjmedia's own):

* ``pjsua-poll``: creates the endpoint (``libCreate`` / ``libInit`` / transport / ``libStart``),
  then loops ``libHandleEvents(poll_ms)`` until stopped, then ``libDestroy``. pjsua worker
  threads are off (``threadCnt=0``) and media shares the SIP ioqueue (``hasIoqueue=False``), so
  SIP, RTP and timers are all handled here. Signalling callbacks run here (or on ``pjsua-cmd``
  when a command caused them) and must only ``call_soon_threadsafe`` into the loop.
* ``pjsua-cmd``: a one-thread executor, registered with pjlib, where every command from the
  asyncio side runs (answer, hangup, transfer, creating and connecting media ports). The loop
  never blocks on a pjsua2 lock, a DNS lookup or the conference bridge. After each command
  the poll thread is woken (a CRLF keep-alive to our own UDP port) so it serves at once any
  socket or timer the command created.
* pjmedia's clock thread (the null sound device): runs media port callbacks every 20 ms. It
  exists only while some call has media (:meth:`PjsuaThread.acquire_clock`), because an idle
  clock costs ~0.3 % of a core.

SWIG releases the GIL around every pjsua2 call (the wheel is built with ``-threads``), so a
thread blocked in pjsua2 never holds the GIL.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import pjsua2 as pj

from gateway.adapters.sip.pjutil import header_values, invite_fields, slot_reused
from gateway.adapters.sip.port import release_thread_states
from gateway.adapters.sip.settings import (
    DEFAULT_CODECS,
    EndpointSettings,
    endpoint_config,
    set_codec_priorities,
)
from gateway.errors import GatewayError
from gateway.observability.logging import get_logger

__all__ = [
    "DEFAULT_CODECS",
    "EndpointError",
    "EndpointSettings",
    "PjsuaThread",
    "RejectedCall",
    "endpoint_config",
    "set_codec_priorities",
]

T = TypeVar("T")
_log = get_logger()

RETIRE_AFTER_S = 0.1


def _port_of(ep: Any, transport_id: int) -> int:
    return int(ep.transportGetInfo(transport_id).localName.rsplit(":", 1)[1])


class EndpointError(GatewayError):
    """The pjsua2 endpoint could not be started."""


class PjsuaThread:
    """Owns the endpoint: the poll thread, the command thread and the media clock."""

    def __init__(self, settings: EndpointSettings | None = None) -> None:
        self.settings = settings or EndpointSettings()
        self.endpoint: Any = None
        self.sip_port = 0
        self.tls_port = 0
        self.codecs: list[str] = []
        self.srtp_suites: list[str] = []
        """SRTP crypto suites of the build (empty: no SRTP), read at start."""
        self.tls_ciphers = 0
        """TLS ciphers the build offers (0: no TLS), read at start."""
        self._stopping = threading.Event()
        self._ready = threading.Event()
        self._failure: str | None = None
        self._thread = threading.Thread(target=self._run, name="pjsua-poll", daemon=True)
        self._commands: ThreadPoolExecutor | None = None
        self._clock_users = 0
        self._before_destroy: list[Callable[[], None]] = []
        self._destroy_flags = 0
        self._retired: list[tuple[float, tuple[Any, ...]]] = []
        self._retired_lock = threading.Lock()
        self._slots = threading.Lock()
        """Held by each command and by :meth:`_bury`: a command may take a call slot (an
        outgoing call) between the burial's check of a slot and the destructor's use of it."""
        self._partial: Any = None
        self._tracked: weakref.WeakSet[Any] = weakref.WeakSet()
        self.on_rejected: Callable[[RejectedCall], None] | None = None
        """Called (on a pjsua thread) for each INVITE pjsua refused before the application saw
        it: 486 when all ``max_calls`` slots are taken, 488 / 400 for an SDP it cannot use."""

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> None:
        """Start the endpoint; returns once it is ready (raises :class:`EndpointError`).

        Blocks, so an asyncio caller runs it in a worker thread and then calls
        :meth:`register_thread` on the loop thread itself.
        """
        self._thread.start()
        if not self._ready.wait(timeout):
            raise EndpointError("pjsua2 endpoint did not start in time")
        if self._failure is not None:
            raise EndpointError(f"SIP endpoint did not start: {self._failure}")
        self.register_thread()
        self._commands = ThreadPoolExecutor(
            max_workers=1,
            thread_name_prefix="pjsua-cmd",
            initializer=self.endpoint.libRegisterThread,
            initargs=("pjsua-cmd",),
        )
        _log.info("sip_endpoint_started", port=self.sip_port, codecs=self.codecs)

    def register_thread(self) -> None:
        """Register the calling thread (the asyncio thread) with pjlib, once the endpoint runs.

        That thread must never call pjsua2 itself, but the last reference to a pjsua2 object
        may be dropped there, and the C++ destructor then calls pjlib (on an unregistered
        thread pjlib aborts the process).
        """
        if not self.endpoint.libIsThreadRegistered():
            self.endpoint.libRegisterThread(threading.current_thread().name)

    def before_destroy(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the poll thread just before ``libDestroy`` (drop accounts, calls)."""
        self._before_destroy.append(fn)

    def stop(self, timeout: float = 10.0, *, graceful: bool = True) -> None:
        """Finish pending commands, stop polling, destroy the endpoint.

        ``graceful`` lets ``libDestroy`` handle responses for about a second (BYEs and
        un-REGISTERs in flight); otherwise it returns at once (``PJSUA_DESTROY_NO_RX_MSG``).
        """
        if self._commands is not None:
            self._commands.shutdown(wait=True)
        self._destroy_flags = 0 if graceful else pj.PJSUA_DESTROY_NO_RX_MSG
        self._stopping.set()
        self._wake()
        self._thread.join(timeout)

    def _wake(self) -> None:
        """Cut the poll thread's wait short: a CRLF keep-alive (RFC 5626) to our own port.

        pjsip drops keep-alives silently, but the datagram ends the ``select()`` at once.
        """
        host = "127.0.0.1" if self.settings.host in ("", "0.0.0.0") else self.settings.host  # noqa: S104 - compares, binds nothing
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"\r\n\r\n", (host, self.sip_port))

    def _run(self) -> None:
        try:
            self._create()
        except BaseException as exc:  # reported to start() by _failure
            self._failure = _describe(exc, self.settings)
            self._abandon()
            self._ready.set()
            return
        self._ready.set()
        ep, poll_ms = self.endpoint, self.settings.poll_ms
        while not self._stopping.is_set():
            ep.libHandleEvents(poll_ms)
            if self._retired:
                self._bury(time.monotonic() - RETIRE_AFTER_S)
        self._destroy()

    def _abandon(self) -> None:
        """After a failed start: destroy what was created, here on the thread that created it
        (pjlib aborts the process if a pjsua2 destructor runs on an unregistered thread)."""
        ep, self._partial = self._partial, None
        if ep is not None:
            with contextlib.suppress(pj.Error):
                ep.libDestroy(pj.PJSUA_DESTROY_NO_RX_MSG)
            del ep

    def _create(self) -> None:
        ep = self._partial = _Endpoint(self)
        ep.libCreate()
        ep.libInit(endpoint_config(self.settings))
        tcfg = pj.TransportConfig()
        tcfg.boundAddress = self.settings.host
        tcfg.port = self.settings.port
        if self.settings.public_address:
            tcfg.publicAddress = self.settings.public_address
        tid = ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tcfg)
        self.sip_port = _port_of(ep, tid)
        if self.settings.tcp:
            tcfg.port = self.sip_port
            ep.transportCreate(pj.PJSIP_TRANSPORT_TCP, tcfg)
        if self.settings.tls:
            self.tls_port = _port_of(ep, ep.transportCreate(pj.PJSIP_TRANSPORT_TLS, self._tls()))
        ep.libStart()
        ep.audDevManager().setNoDev()
        self.codecs = set_codec_priorities(ep, self.settings.codecs)
        self.srtp_suites = [str(suite) for suite in ep.srtpCryptoEnum()]
        self.tls_ciphers = len(ep.utilSslGetAvailableCiphers())
        self.endpoint, self._partial = ep, None

    def _tls(self) -> Any:
        cfg = pj.TransportConfig()
        cfg.boundAddress = self.settings.host
        cfg.port = self.settings.tls_port
        cfg.tlsConfig.method = pj.PJSIP_TLSV1_2_METHOD
        cfg.tlsConfig.certFile = self.settings.tls_cert
        cfg.tlsConfig.privKeyFile = self.settings.tls_key
        return cfg

    def _destroy(self) -> None:
        for fn in self._before_destroy:
            fn()
        self._bury(float("inf"))
        for obj in list(self._tracked):
            # Still referenced somewhere: its C++ destructor would run after libDestroy and
            # abort in pjlib. Leak it instead (the process is ending).
            obj.thisown = False
            _log.warning("sip_object_outlived_endpoint", object=type(obj).__name__)
        self.endpoint.hangupAllCalls()
        self.endpoint.libDestroy(self._destroy_flags)
        self.endpoint = None

    # --- commands ----------------------------------------------------------------------------

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        """Run ``fn(*args)`` on the command thread, then wake the poll thread.

        The wake matters: the poll thread sleeps in ``select()`` on the sockets and timer it
        knew when it went in, so a socket or timer a command creates (an outgoing TLS
        connection, a new call's RTP socket, a retransmission timer) would otherwise wait up
        to ``poll_ms`` to be served. Measured: a TLS call's handshake took 500 ms without it.
        """
        if self._commands is None:
            raise EndpointError("pjsua2 endpoint is not running")
        return self._commands.submit(self._run_and_wake, fn, *args)

    def _run_and_wake(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            with self._slots:
                return fn(*args)
        finally:
            self._wake()

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Await ``fn(*args)`` run on the command thread."""
        return await asyncio.wrap_future(self.submit(fn, *args))

    # --- object lifetimes --------------------------------------------------------------------

    def track(self, obj: T) -> T:
        """Watch a pjsua2 object (call, account, media port) that must not outlive the endpoint.

        Any still referenced when the endpoint is destroyed — from a traceback, a closure, a
        pending callback — is disowned: its C++ destructor would run after ``libDestroy`` and
        abort in pjlib (``pjsua_call_set_user_data`` / ``pjmedia_conf_remove_port`` asserts).
        """
        self._tracked.add(obj)
        return obj

    def retire(self, *objects: Any) -> None:
        """Let go of pjsua2 objects: they are dropped on the poll thread after 100 ms or more.

        The delay lets the conference bridge apply queued disconnect/remove operations (it does
        so on its next clock tick) before a port's C++ object is freed; dropping them on a
        pjlib-registered thread keeps destructors off unregistered threads. Call from any
        thread, and keep no other reference.
        """
        with self._retired_lock:
            self._retired.append((time.monotonic(), objects))

    def _bury(self, older_than: float) -> None:
        """Drop retired objects older than ``older_than``, on the poll thread.

        A call whose pjsua slot a new call has taken meanwhile (a caller rang in right after
        another hung up) waits for a later burial: its destructor would cut the new call off
        (:func:`slot_reused`). Incoming calls take slots on this thread and commands hold
        ``_slots``, so no slot changes hands between the check and the drop. While a command
        runs (a ``makeCall`` may resolve a host name synchronously), burial waits for a later
        poll rather than block this thread, which also reads every call's RTP.
        """
        final = older_than == float("inf")
        if not self._slots.acquire(blocking=final):
            return
        try:
            self._bury_due(older_than, final)
        finally:
            self._slots.release()

    def _bury_due(self, older_than: float, final: bool) -> None:
        with self._retired_lock:
            due = [objs for at, objs in self._retired if at <= older_than]
            self._retired = [(at, objs) for at, objs in self._retired if at > older_than]
        if not due:
            return
        waiting = [objs for objs in due if not final and any(map(slot_reused, objs))]
        due.clear()  # the last references go here, on this (registered) thread
        if waiting:
            _log.debug("sip_objects_kept", reason="call slot reused", count=len(waiting))
            with self._retired_lock:
                self._retired.extend((time.monotonic(), objs) for objs in waiting)

    # --- media clock (command thread only) ---------------------------------------------------

    def acquire_clock(self) -> None:
        """A call needs media: start the null sound device's clock if it is not running."""
        self._clock_users += 1
        if self._clock_users == 1:
            self.endpoint.audDevManager().setNullDev()

    def release_clock(self) -> None:
        """A call's media has ended: stop the clock when no call needs it."""
        self._clock_users -= 1
        if self._clock_users == 0:
            self.endpoint.audDevManager().setNoDev()
            release_thread_states()  # the clock thread has been joined: free what it pinned


@dataclass(frozen=True, slots=True)
class RejectedCall:
    """An INVITE refused before it became a call: by pjsua, the admission gate or the policy."""

    status: int
    reason: str
    source: str
    sip_call_id: str
    request_uri: str = ""
    from_uri: str = ""
    gated: bool = False
    """Refused by the gateway's admission gate (``reason``: capacity, draining), not pjsua."""
    policy: bool = False
    """Refused by the stack's access policy (``reason``: source_not_allowed, auth_failed)."""


class _Endpoint(pj.Endpoint):  # type: ignore[misc]  # pjsua2 is untyped
    def __init__(self, owner: PjsuaThread) -> None:
        super().__init__()
        self._owner = owner

    def onRejectedIncomingCall(self, prm: Any) -> None:
        report = self._owner.on_rejected
        if report is None:
            return
        with contextlib.suppress(Exception):  # never raise into pjsua
            whole = prm.rdata.wholeMsg
            fields = invite_fields(whole)
            call_ids = header_values(whole, "call-id")
            report(
                RejectedCall(
                    prm.statusCode,
                    prm.reason,
                    prm.rdata.srcAddress,
                    call_ids[0] if call_ids else "",
                    fields.get("request_uri", ""),
                    fields.get("from", ""),
                )
            )


def _describe(exc: BaseException, settings: EndpointSettings) -> str:
    """A short statement of why the endpoint failed (pj.Error carries a status text)."""
    if isinstance(exc, pj.Error):
        reason = str(getattr(exc, "reason", "") or exc.info())
        if "in use" in reason.lower() or "EADDRINUSE" in reason:
            return f"SIP port {settings.host}:{settings.port} is already in use ({reason})"
        return reason
    return f"{type(exc).__name__}: {exc}"
