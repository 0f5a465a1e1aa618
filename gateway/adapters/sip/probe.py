"""A loopback SIP peer that plays a known tone and records what it hears (tests, experiments).

Run as ``python -m gateway.adapters.sip.probe answer|call ...``. It uses the real adapter
pieces — :class:`PjsuaThread`, :class:`CallMediaPort`, the uplink queue and the playout ring —
on the thread model of docs/pjsua2-notes.md, with asyncio on the main thread. It prints one JSON
object per line on stdout (pjlib may print plain log lines there too; readers skip them):

* ``ready`` (``port``, ``codecs``, ``access``), ``incoming`` (``request_uri``, ``from``, ``to``,
  ``source``), ``call_state`` (``state``, ``code``), ``media_active`` (``codec``, ``srtp``),
  ``dtmf`` (``digit``, ``method``), ``transfer_request``, ``transfer_status``, ``reg_state``;
* ``media_counters`` per call, and at exit ``result``: the recording's analysis (``rx``) and
  the threads each kind of callback ran on.

``answer`` serves calls until ``--calls N`` have ended; ``call`` places one call, plays for
``--seconds`` and hangs up (unless the other side ends it first).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import faulthandler
import json
import sys
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import pjsua2 as pj

from gateway.adapters.sip.bytevec import FrameAccess, select_frame_access
from gateway.adapters.sip.endpoint import DEFAULT_CODECS, EndpointSettings, PjsuaThread
from gateway.adapters.sip.media import PlayoutRing, UplinkQueue
from gateway.adapters.sip.pjutil import (
    DISCONNECTED,
    active_audio,
    dtmf_param,
    invite_fields,
    response,
    state_name,
)
from gateway.adapters.sip.port import CallMediaPort
from gateway.adapters.sip.probe_sip import ProbeAccount, ProbeCall, account_config
from gateway.adapters.sip.tones import analyse, tone_frames
from gateway.core.audio.codec import FRAME_MS

__all__ = ["main"]

_SKIP_MS = 300  # ignore the start of a recording (jitter buffer prefetch, first packets)


_emitting = threading.Lock()


def emit(event: str, **fields: Any) -> None:
    """One JSON line on stdout. pjsua threads and the main thread both report, and ``print``
    writes the text and its newline separately: unlocked, two lines could run together."""
    line = json.dumps({"event": event, **fields}, default=str) + "\n"
    with _emitting:
        sys.stdout.write(line)
        sys.stdout.flush()


@dataclasses.dataclass
class _Media:
    port: CallMediaPort
    uplink: UplinkQueue
    ring: PlayoutRing


class Probe:
    """One probe process: an endpoint, one account, its calls, and what they heard."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.loop = asyncio.get_running_loop()
        codecs = tuple(args.codec) or DEFAULT_CODECS
        settings = EndpointSettings(
            max_calls=args.max_calls,
            codecs=codecs,
            log_level=args.log,
            tls=args.tls or bool(args.tls_cert),
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
        )
        self.pjsua = PjsuaThread(settings)
        self.access: FrameAccess | None = None
        self.account: ProbeAccount | None = None
        self.calls: list[ProbeCall] = []
        self.media: dict[int, _Media] = {}
        self.threads: dict[str, set[str]] = {}
        self.recorded = bytearray()
        self.ended = 0
        self.done = asyncio.Event()
        self.media_up = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._consulted = False
        self._media_ready: dict[int, asyncio.Event] = {}

    # --- callbacks land here, on a pjsua thread ----------------------------------------------

    def post(self, kind: str, fn: Callable[..., object], *args: Any) -> None:
        self.threads.setdefault(kind, set()).add(threading.current_thread().name)
        self.loop.call_soon_threadsafe(fn, *args)

    # --- setup -------------------------------------------------------------------------------

    async def start(self) -> None:
        self.pjsua.start()
        self.pjsua.before_destroy(self._drop_objects)
        self.access = await self.pjsua.run(select_frame_access)
        self.account = await self.pjsua.run(self._create_account)
        emit(
            "ready",
            port=self.pjsua.sip_port,
            tls_port=self.pjsua.tls_port,
            codecs=self.pjsua.codecs,
            access=self.access.name,
        )

    def _create_account(self) -> ProbeAccount:
        args = self.args
        cfg = account_config(
            self.pjsua.sip_port,
            srtp=args.srtp,
            registrar=args.register,
            username=args.user,
            password=args.password,
        )
        account = self.pjsua.track(ProbeAccount(self))
        account.create(cfg)
        return account

    def _drop_objects(self) -> None:
        self.media.clear()
        self.calls.clear()
        if self.account is not None:
            self.account.shutdown()
            self.account = None

    # --- signalling, on the loop -------------------------------------------------------------

    def on_incoming(self, call: ProbeCall, whole_msg: str, source: str) -> None:
        self.calls.append(self.pjsua.track(call))
        emit("incoming", source=source, **invite_fields(whole_msg))
        self._spawn(self._answer(call, source))

    async def _answer(self, call: ProbeCall, source: str) -> None:
        args = self.args
        host = source.rsplit(":", 1)[0]
        if args.allow_source and host not in args.allow_source:
            await self.pjsua.run(call.answer, response(403))
            return
        if args.reject:
            await self.pjsua.run(call.answer, response(args.reject, args.retry_after))
            return
        if args.ring_ms:
            await self.pjsua.run(call.answer, response(180))
            await asyncio.sleep(args.ring_ms / 1000)
        await self.pjsua.run(call.answer, response(200))

    def on_call_state(self, call: ProbeCall, state: int, code: int, reason: str) -> None:
        emit("call_state", state=state_name(state), code=code, reason=reason)
        if state == DISCONNECTED:
            self._spawn(self._call_ended(call))

    async def _call_ended(self, call: ProbeCall) -> None:
        await self.pjsua.run(self._detach, id(call))
        self.ended += 1
        if self.ended >= self.args.calls:
            self.done.set()

    def on_media_state(self, call: ProbeCall) -> None:
        if id(call) not in self.media:
            self._spawn(self._attach(call))

    def on_dtmf(self, digit: str, method: int) -> None:
        emit("dtmf", digit=digit, method="info" if method == 1 else "rfc4733")

    def on_transfer_request(self, new_call: ProbeCall, target: str) -> None:
        self.calls.append(self.pjsua.track(new_call))
        emit("transfer_request", target=target)

    def on_transfer_status(self, code: int, reason: str, final: bool) -> None:
        emit("transfer_status", code=code, reason=reason, final=final)
        if final and code == 200:
            self._spawn(self._hangup_all())

    def on_reg_state(self, code: int, reason: str, expiration: int) -> None:
        emit("reg_state", code=code, reason=reason, expiration=expiration)
        if self.args.role == "register" and code // 100 in (2, 4):
            self.done.set()

    async def _hangup_all(self) -> None:
        await self.pjsua.run(self._hangup, *self.calls)

    @staticmethod
    def _hangup(*calls: ProbeCall) -> None:
        """Command thread: hang up those of ``calls`` still active."""
        for call in calls:
            if call.isActive():
                call.hangup(response(200))

    def on_replaced(self, new_call: ProbeCall) -> None:
        self.calls.append(self.pjsua.track(new_call))
        emit("replaced")

    # --- media -------------------------------------------------------------------------------

    async def _attach(self, call: ProbeCall) -> None:
        assert self.access is not None
        uplink, ring = UplinkQueue(), PlayoutRing()
        attached = await self.pjsua.run(self._connect, call, uplink, ring, self.access)
        if attached is None:
            return
        codec, srtp = attached
        for frame in tone_frames(self.args.tone, int(self.args.seconds * 1000) + 2000):
            ring.push(frame, "tone", 160)
        emit("media_active", codec=codec, srtp=srtp)
        self.media_up.set()
        self._media_event(call).set()
        self._spawn(self._record(uplink))
        await self._script(call)

    async def _script(self, call: ProbeCall) -> None:
        """What the answering side does once a call has media (per the command line)."""
        args = self.args
        if args.hangup_after:
            await asyncio.sleep(args.hangup_after)
            await self.pjsua.run(self._hangup, call)
        elif args.xfer_to:
            await asyncio.sleep(args.xfer_after)
            await self.pjsua.run(call.xfer, args.xfer_to, response(0))
        elif args.consult_to and not self._consulted:
            self._consulted = True
            consult = await self.pjsua.run(self._make_call, args.consult_to)
            await self._media_event(consult).wait()
            await asyncio.sleep(args.xfer_after)
            await self.pjsua.run(call.xferReplaces, consult, response(0))

    def _connect(
        self, call: ProbeCall, uplink: UplinkQueue, ring: PlayoutRing, access: FrameAccess
    ) -> tuple[str, bool] | None:
        """Command thread: create the call's port and connect it (``self.media`` lives here)."""
        found = active_audio(call)
        if found is None or not call.isActive() or id(call) in self.media:
            return None
        audio, index = found
        self.pjsua.acquire_clock()
        port = self.pjsua.track(CallMediaPort.create(f"probe{id(call)}", uplink, ring, access))
        try:
            port.connect(audio)
            codec = call.getStreamInfo(index).codecName
            srtp = "SRTP status: Active" in call.dump(True, "")
        except pj.Error:  # the call ended while we connected
            port.disconnect()
            self.pjsua.retire(port)
            self.pjsua.release_clock()
            return None
        self.media[id(call)] = _Media(port, uplink, ring)
        return codec, srtp

    def _detach(self, key: int) -> None:
        """Command thread: disconnect the call's port and retire it."""
        media = self.media.pop(key, None)
        if media is None:
            return
        media.port.disconnect()
        self.pjsua.retire(media.port)
        self.pjsua.release_clock()
        emit(
            "media_counters",
            uplink=dataclasses.asdict(media.uplink.counters()),
            playout=dataclasses.asdict(media.ring.counters()),
            port_errors=media.port.errors,
        )

    async def _record(self, uplink: UplinkQueue) -> None:
        """Drain the uplink on the loop's own timeline (no wakeups from the clock thread)."""
        start, tick, period = self.loop.time(), 0, self.args.drain_ms / 1000
        while not self.done.is_set():
            tick += 1
            await asyncio.sleep(max(0.0, start + tick * period - self.loop.time()))
            self.recorded += uplink.drain_bytes()

    def _media_event(self, call: ProbeCall) -> asyncio.Event:
        return self._media_ready.setdefault(id(call), asyncio.Event())

    # --- the caller's script -----------------------------------------------------------------

    async def place_call(self) -> None:
        call = await self.pjsua.run(self._make_call, self.args.to)
        if not await _first_of(self.media_up, self.done, within=10):
            return
        if self.args.dtmf:
            await asyncio.sleep(0.3)
            await self.pjsua.run(call.sendDtmf, dtmf_param(self.args.dtmf, self.args.dtmf_method))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.done.wait(), self.args.seconds)
        await self.pjsua.run(self._hangup, call)

    def _make_call(self, uri: str) -> ProbeCall:
        assert self.account is not None
        call = ProbeCall(self, self.account)
        self.calls.append(self.pjsua.track(call))
        call.makeCall(uri, response(0))
        return call

    # --- ending ------------------------------------------------------------------------------

    def report(self) -> None:
        skip = _SKIP_MS * 16  # bytes of PCM16 8 kHz
        rx = analyse(bytes(self.recorded[skip:]), tuple(self.args.expect))
        threads = {kind: sorted(names) for kind, names in self.threads.items()}
        emit("result", rx=dataclasses.asdict(rx), threads=threads)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = self.loop.create_task(coro, name=getattr(coro, "__qualname__", "probe"))
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            emit("error", where=task.get_name(), error=repr(task.exception()))
            self.done.set()


async def _first_of(*events: asyncio.Event, within: float) -> bool:
    """Wait until any of ``events`` is set (at most ``within`` s); True if the first one is."""
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=within, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
    return events[0].is_set()


async def _run(args: argparse.Namespace) -> int:
    faulthandler.dump_traceback_later(args.timeout + 10, exit=True)
    probe = Probe(args)
    await probe.start()
    try:
        if args.role == "call":
            await probe.place_call()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(probe.done.wait(), args.timeout)
    finally:
        probe.report()
        probe.pjsua.stop(graceful=False)  # every call has ended: no need to linger
    return 0


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="probe", description=__doc__)
    p.add_argument("role", choices=("answer", "call", "register"))
    p.add_argument("--to", help="SIP URI to call (role call)")
    p.add_argument("--tone", type=float, default=440.0, help="Hz of the tone to play")
    p.add_argument("--expect", type=int, action="append", default=[], help="Hz to measure")
    p.add_argument("--seconds", type=float, default=2.0, help="how long the caller talks")
    p.add_argument("--codec", action="append", default=[], help="codec id, in priority order")
    p.add_argument("--srtp", action="store_true", help="require SRTP (SDES)")
    p.add_argument("--tls", action="store_true", help="open a (client) TLS transport too")
    p.add_argument("--tls-cert", default="", help="PEM certificate: accept TLS with it")
    p.add_argument("--tls-key", default="", help="PEM private key of --tls-cert")
    p.add_argument("--ring-ms", type=int, default=0, help="answer 180 first, 200 after")
    p.add_argument("--reject", type=int, default=0, help="answer with this final status")
    p.add_argument("--retry-after", type=int, default=None)
    p.add_argument("--allow-source", action="append", default=[], help="else answer 403")
    p.add_argument("--hangup-after", type=float, default=0.0, help="seconds after media")
    p.add_argument("--xfer-to", default="", help="blind-transfer the call to this URI")
    p.add_argument("--consult-to", default="", help="call this URI, then xferReplaces to it")
    p.add_argument("--xfer-after", type=float, default=0.5)
    p.add_argument("--dtmf", default="", help="digits the caller sends after answer")
    p.add_argument("--dtmf-method", choices=("rfc4733", "info"), default="rfc4733")
    p.add_argument("--register", default="", help="registrar URI (role register)")
    p.add_argument("--user", default="")
    p.add_argument("--password", default="")
    p.add_argument("--drain-ms", type=int, default=FRAME_MS, help="uplink drain period")
    p.add_argument("--calls", type=int, default=1, help="end after this many calls")
    p.add_argument("--max-calls", type=int, default=4)
    p.add_argument("--timeout", type=float, default=15.0)
    p.add_argument("--log", type=int, default=0, help="pjlib log level (to stdout)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(_run(args))
    return 1


if __name__ == "__main__":
    sys.exit(main())
