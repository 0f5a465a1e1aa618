"""The gateway's SIP side: accounts, inbound calls as :class:`SipLeg` objects, media, transfers.

Callbacks (pjsua threads) snapshot what they need and post it to the loop with the call's
*key* (never the Call object: pjsua reuses call ids, see docs/pjsua2-notes.md). Everything the
loop asks of pjsua2 runs on the endpoint's command thread. Call objects are dropped on that
thread once the call is disconnected.

Before a call reaches the application the stack refuses what it must: an unknown source
network (403), a missing or wrong digest answer when inbound auth is on (401 challenge / 403).
A 403 is handed to ``on_refused`` like pjsua's own refusals, so it leaves a record; a 401 is
only counted and logged (rate-limited): it asks for credentials, and a caller that has them
sends the INVITE again, which becomes the call.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine
from typing import Any

import pjsua2 as pj
import structlog

from gateway.adapters.sip.admission import Admission
from gateway.adapters.sip.bytevec import FrameAccess, select_frame_access
from gateway.adapters.sip.endpoint import EndpointError, PjsuaThread, RejectedCall
from gateway.adapters.sip.leg import InviteInfo, SipLeg
from gateway.adapters.sip.pjsip_ffi import tls_library
from gateway.adapters.sip.pjsip_hooks import PjsipHooks, StackRefusals
from gateway.adapters.sip.pjsua_objects import StackAccount, StackCall, next_key
from gateway.adapters.sip.pjutil import DISCONNECTED, active_audio, response
from gateway.adapters.sip.port import CallMediaPort
from gateway.adapters.sip.settings import RegistrationSettings, SipSettings, account_config
from gateway.app.phone import LegEvent, TransferOutcome

__all__ = ["RegistrationSettings", "SipSettings", "SipStack"]

log = structlog.get_logger()


class SipStack:
    """One process's SIP user agent; hands each accepted INVITE to ``on_call`` as a SipLeg."""

    def __init__(
        self,
        settings: SipSettings,
        on_call: Callable[[SipLeg], None],
        *,
        on_refused: Callable[[RejectedCall], None] | None = None,
    ) -> None:
        self.settings = settings
        self.pjsua = PjsuaThread(settings.endpoint)
        self.refusals = StackRefusals(on_refused)
        """What was refused below the application: counted, logged (rate-limited)."""
        self.pjsua.on_rejected = lambda refused: self.post(self.refusals.invite_refused, refused)
        self._on_call = on_call
        self.admission = Admission(settings)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._access: FrameAccess | None = None
        self._accounts: list[StackAccount] = []
        self.calls: dict[int, StackCall] = {}
        """Call objects by key; touched only on pjsua threads."""
        self.legs: dict[int, SipLeg] = {}
        self._media: dict[int, CallMediaPort] = {}
        self._ports: list[CallMediaPort] = []
        """Idle media ports, kept for the next calls (see :mod:`gateway.adapters.sip.port`:
        destroying one while the clock runs races the bridge). Command thread only."""
        self._transfers: dict[int, asyncio.Future[TransferOutcome]] = {}
        self._consults: dict[int, asyncio.Future[int]] = {}
        self._tasks: set[asyncio.Future[object]] = set()
        self.registration_status: int | None = None
        """Last REGISTER status (None: not registering or no answer yet)."""
        self.hooks = PjsipHooks(
            allowed=self.admission.allowed_host,
            report=lambda event: self.post(self.refusals.request_event, event),
            refused=lambda refused: self.post(self.refusals.invite_refused, refused),
        )

    # ------------------------------------------------------------------------------- lifecycle

    @property
    def sip_port(self) -> int:
        return self.pjsua.sip_port

    @property
    def registered(self) -> bool:
        if self.settings.registration is None:
            return True
        return self.registration_status is not None and 200 <= self.registration_status < 300

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        await asyncio.to_thread(self.pjsua.start)
        self.pjsua.register_thread()  # the loop thread (start ran in a worker thread)
        self.pjsua.before_destroy(self._drop_all)
        try:
            self._access = await self.pjsua.run(select_frame_access)
            await self.pjsua.run(self._create_accounts)
            problem = await self.pjsua.run(self.hooks.install)
            self.pjsua.before_destroy(self.hooks.uninstall)
        except BaseException:  # e.g. a registrar URI pjsua refuses: leave nothing listening
            await asyncio.to_thread(self.pjsua.stop, 10.0, graceful=False)
            raise
        if problem:
            log.warning("sip_unanswered_requests_hook_unavailable", reason=problem)
        log.info("sip_ready", port=self.sip_port, frame_access=self._access.name)
        log.info("sip_security", **self.security)

    @property
    def security(self) -> dict[str, Any]:
        """TLS and SRTP as configured and as the pjsua2 build supports them."""
        tls = self.settings.endpoint.tls
        return {
            "tls_port": self.pjsua.tls_port if tls else None,
            "tls_library": tls_library() if tls else None,
            "srtp": self.settings.srtp,
            "srtp_in_build": bool(self.pjsua.srtp_suites),
            "srtp_suites": self.pjsua.srtp_suites,
        }

    async def stop(self) -> None:
        for key in list(self.legs):
            await self.hangup(key)
        await asyncio.to_thread(self.pjsua.stop, 10.0, graceful=True)

    def _create_accounts(self) -> None:
        """The trunk account (the default), and one that registers when configured.

        The accounts live only in ``self._accounts`` (no locals), and a failure's traceback is
        dropped: either would keep an account alive past the endpoint's end.
        """
        reg = self.settings.registration
        for config in (None, reg) if reg is not None else (None,):
            self._accounts.append(self.pjsua.track(StackAccount(self)))
            try:
                self._accounts[-1].create(
                    account_config(self.settings, self.sip_port, config), config is None
                )
            except pj.Error as exc:
                self._accounts.pop()
                exc.__traceback__ = None  # its frames (pjsua2's own) still hold the account
                where = f"register with {config.registrar!r}" if config else "listen for calls"
                reason = exc.reason or exc.info().strip()
                raise EndpointError(f"cannot {where}: pjsua refused it ({reason})") from None

    def _drop_all(self) -> None:
        for port in self._media.values():
            port.disconnect()
            self._ports.append(port)  # kept: still alive at libDestroy, so left to the OS
        self._media.clear()
        self.calls.clear()
        for account in self._accounts:
            account.shutdown()
        self._accounts.clear()

    # ------------------------------------------------------------------ callbacks (any thread)

    def _spawn(self, coro: Coroutine[Any, Any, object]) -> None:
        """Run a SIP housekeeping task; failures are logged, never lost."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Future[object]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            detail = exc.info() if isinstance(exc, pj.Error) else repr(exc)
            log.error("sip_task_failed", error=detail)

    def post(self, fn: Callable[..., object], *args: Any) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(fn, *args)

    # -------------------------------------------------------------------------- incoming calls

    def on_incoming(self, info: InviteInfo) -> None:
        """Loop: a new INVITE (its Call object is already in :attr:`calls`)."""
        leg = SipLeg(self, info)
        self.legs[info.key] = leg
        refusal = self.admission.refusal(info)
        if refusal is None:
            self._on_call(leg)
            return
        status, why, headers = refusal
        self._spawn(self.respond(info.key, status, headers=headers))
        if status == 401:
            fields = {"status": status, "source": info.source}
            if line := self.refusals.log.note("invite_challenged_401", fields, time.monotonic()):
                log.info("call_challenged", **line)
            return
        self.refusals.invite_refused(
            RejectedCall(
                status, why, info.source, info.sip_call_id, info.request_uri, info.from_uri,
                policy=True,
            )
        )  # fmt: skip

    # ---------------------------------------------------------------------------- commands

    async def respond(
        self,
        key: int,
        status: int,
        *,
        retry_after: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> bool:
        """Answer the INVITE of ``key`` (180, 200, or a final refusal); False if the call was
        gone (the caller cancelled meanwhile), so nothing was sent."""
        return await self.pjsua.run(self._answer, key, status, retry_after, headers or {})

    def _answer(
        self, key: int, status: int, retry_after: int | None, headers: dict[str, str]
    ) -> bool:
        call = self.calls.get(key)
        if call is None or not call.isActive():
            return False
        prm = response(status, retry_after)
        for name, value in headers.items():
            header = pj.SipHeader()
            header.hName, header.hValue = name, value
            prm.txOption.headers.append(header)
        try:
            call.answer(prm)
        except pj.Error as exc:  # the caller cancelled meanwhile
            log.info("sip_answer_failed", status=status, error=exc.info())
            return False
        return True

    async def hangup(self, key: int) -> None:
        await self.pjsua.run(self._hangup, key)

    def _hangup(self, key: int) -> None:
        call = self.calls.get(key)
        if call is not None and call.isActive():
            try:
                call.hangup(response(0))
            except pj.Error as exc:
                log.info("sip_hangup_failed", error=exc.info())

    # ------------------------------------------------------------------------------- events

    def on_state(self, key: int, state: int, code: int, reason: str, confirmed: bool) -> None:
        leg = self.legs.get(key)
        if state != DISCONNECTED:
            return
        transfer = self._transfers.pop(key, None)
        if transfer is not None and not transfer.done():
            transfer.set_result(TransferOutcome(False, code, f"call ended: {code} {reason}"))
        consult = self._consults.pop(key, None)
        if consult is not None and not consult.done():
            consult.set_result(code)
        if leg is not None:
            self.legs.pop(key, None)
            detail = f"{code} {reason}"
            event = LegEvent("hangup", detail) if leg.answered else LegEvent("cancelled", detail)
            leg.events.put_nowait(event)
        self._spawn(self.pjsua.run(self._drop, key))

    def on_confirmed(self, key: int) -> None:
        consult = self._consults.get(key)
        if consult is not None and not consult.done():
            consult.set_result(200)

    def _drop(self, key: int) -> None:
        """Command thread: detach media and let go of the call object."""
        port = self._media.pop(key, None)
        if port is not None:
            self._park(port)
            self.pjsua.release_clock()
        call = self.calls.pop(key, None)
        if call is not None:
            self.pjsua.retire(call)

    def on_media(self, key: int) -> None:
        leg = self.legs.get(key)
        if leg is not None:
            self._spawn(self._attach(leg))

    async def _attach(self, leg: SipLeg) -> None:
        if await self.pjsua.run(self._connect, leg):
            if leg.srtp is not None:
                log.info("sip_media_srtp", call_id=leg.call_id, active=leg.srtp)
            leg.events.put_nowait(LegEvent("media_active"))

    def _connect(self, leg: SipLeg) -> bool:
        """Command thread: (re)connect the call's audio to its port; True when newly up."""
        call = self.calls.get(leg.key)
        try:
            found = active_audio(call) if call is not None and call.isActive() else None
        except pj.Error:  # the call ended between the media event and now
            return False
        if found is None or self._access is None:
            return False
        audio, _index = found
        current = self._media.get(leg.key)
        if current is not None:
            # A re-INVITE (hold, unhold, codec change) may have replaced the call's stream, and
            # pjsua reuses conference slots: after hold and unhold the new stream often has the
            # old slot number but none of its connections (measured: slot 1, 3 on hold, 1 again
            # on unhold, then silence both ways). So reconnect on every media update, without
            # comparing slots; connecting an existing connection again is harmless.
            current.disconnect()
            current.connect(audio)
            return False
        self.pjsua.acquire_clock()
        if self._ports:
            port = self._ports.pop()
            port.bind(leg.uplink, leg.playout)
        else:
            name = f"voicegw{len(self._media)}"
            port = CallMediaPort.create(name, leg.uplink, leg.playout, self._access)
            self.pjsua.track(port)
        try:
            port.connect(audio)
        except pj.Error:  # the caller hung up while we connected (BYE right after the ACK)
            self._park(port)
            self.pjsua.release_clock()
            return False
        self._media[leg.key] = port
        if self.settings.srtp != "off" and call is not None:
            with contextlib.suppress(pj.Error):  # ended meanwhile: nothing to report
                leg.srtp = "SRTP status: Active" in call.dump(True, "")
        return True

    def _park(self, port: CallMediaPort) -> None:
        """Command thread: disconnect a call's port and keep it for the next call."""
        port.disconnect()
        port.unbind()
        self._ports.append(port)

    def on_dtmf(self, key: int, digit: str) -> None:
        leg = self.legs.get(key)
        if leg is not None:
            leg.events.put_nowait(LegEvent("dtmf", digit))

    def on_replace_refused(self, key: int) -> None:
        leg = self.legs.get(key)
        log.warning("sip_replaces_refused", call_id=leg.call_id if leg else None, status=603)

    def on_reg_state(self, code: int, reason: str, expiration: int) -> None:
        self.registration_status = code
        if 200 <= code < 300:
            log.info("sip_registered", expires_s=expiration)
        else:
            log.warning("sip_registration_failed", status=code, reason=reason)

    # ---------------------------------------------------------------------------- transfer

    async def transfer(self, key: int, uri: str, *, attended: bool = False) -> TransferOutcome:
        """REFER the caller to ``uri`` (after a consultation call when ``attended``).

        One transfer per call at a time (a second gets a failed outcome at once). A consultation
        call that does not end up replaced by the caller (it failed, timed out, the caller left,
        or this task was cancelled) is hung up, so no agent is left on a silent line.
        """
        if key in self._transfers:
            return TransferOutcome(False, 0, "a transfer of this call is already under way")
        done: asyncio.Future[TransferOutcome] = asyncio.get_running_loop().create_future()
        self._transfers[key] = done
        consult_key = next_key() if attended else None
        try:
            if consult_key is not None:
                outcome = await self._consult_then_refer(key, consult_key, uri)
                if outcome is not None:
                    return outcome
            else:
                await self.pjsua.run(self._refer, key, uri)
            outcome = await asyncio.wait_for(done, self.settings.transfer_timeout_s)
            if outcome.ok:
                consult_key = None  # replaced: the target ends the consultation call itself
            return outcome
        except TimeoutError:
            return TransferOutcome(False, 0, "no final NOTIFY before the timeout")
        except pj.Error as exc:
            return TransferOutcome(False, 0, f"REFER failed: {exc.info()}")
        except KeyError:  # a call ended meanwhile (its object is gone)
            return TransferOutcome(False, 0, "the call ended before the transfer")
        finally:
            if self._transfers.get(key) is done:
                del self._transfers[key]
            if consult_key is not None:
                self._consults.pop(consult_key, None)
                self._spawn(self.pjsua.run(self._hangup, consult_key))

    def _refer(self, key: int, uri: str) -> None:
        call = self.calls[key]
        call.xfer(uri, response(0))

    async def _consult_then_refer(
        self, key: int, consult_key: int, uri: str
    ) -> TransferOutcome | None:
        answered: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._consults[consult_key] = answered
        await self.pjsua.run(self._make_consult, consult_key, uri)
        status = await asyncio.wait_for(answered, self.settings.transfer_timeout_s)
        if status != 200:
            return TransferOutcome(False, status, f"consultation call failed: {status}")
        await self.pjsua.run(self._refer_replaces, key, consult_key)
        return None

    def _make_consult(self, consult_key: int, uri: str) -> None:
        call = StackCall(self, self._accounts[0], consult_key)
        self.calls[consult_key] = self.pjsua.track(call)
        try:
            call.makeCall(uri, response(0))
        except pj.Error:
            self._drop(consult_key)
            raise

    def _refer_replaces(self, key: int, consult_key: int) -> None:
        self.calls[key].xferReplaces(self.calls[consult_key], response(0))

    def on_transfer_status(self, key: int, code: int, reason: str, final: bool) -> None:
        done = self._transfers.get(key)
        if done is None or done.done() or not (final or code >= 300):
            return
        done.set_result(TransferOutcome(200 <= code < 300, code, f"{code} {reason}".strip()))
