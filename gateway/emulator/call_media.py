"""Runs one answered SIP call's emulated session: the caller's audio in, the model's voice out.

On the SIP path the service, not the client, carries the audio (protocol brief §5.1). A
:class:`CallDriver` owns its call's :class:`~gateway.emulator.session.EmulatedSession` from
accept to hang-up, whether or not a sideband WebSocket is attached:

* every 20 ms it drains the caller's frames (PCM16 8 kHz from the SIP leg), encodes them to the
  call's G.711 and feeds them in (the session's VAD and scenario run on them);
* the session's ``response.output_audio.delta`` audio goes to the leg's playout ring, decoded
  as the call's G.711 and re-framed, and is **not** sent on the sideband (UNVERIFIED whether
  the real service sends it there; clients must not rely on it); ``output_audio_buffer.cleared``
  flushes the ring;
* every other event goes to the attached sideband, if any, in order, through one sender task.
  ``output_audio_buffer.stopped`` is sent once the ring has really played out, so a client
  that hangs up on it cuts nothing the caller should hear.

The call's G.711 is the format it was accepted with (μ-law when that was not G.711). Audio is
never transcoded between it and the session's formats: a session whose format differs (an SDK
pushing its ``audio/pcm`` default onto the call, or an accept that forced one) reads the
caller's G.711 bytes as its own format and has its output played as G.711, which the caller
hears as static (brief §9: openai-agents-python #2097; the mechanism is UNVERIFIED), and
``sip_format_mismatch`` is logged.

``serve`` runs one attached sideband (``?call_id=``) until it closes; ``stop`` ends the call's
session and drops an attached socket without a close frame, as a hang-up does on the real
service (brief §1.4).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from gateway.app.media_bridge import PlayoutFeeder
from gateway.app.phone import PhoneLeg
from gateway.core.audio import AudioCodec
from gateway.core.audio.transcode import uplink_encoder
from gateway.emulator.session import Abort, Action, Close, EmulatedSession, Send
from gateway.observability.logging import get_logger

__all__ = ["CallDriver"]

TICK_S = 0.02
DRAIN_WAIT_S = 2.0
_ABORT = object()


class CallDriver:
    """The I/O around one SIP call's emulated session."""

    def __init__(
        self,
        session: EmulatedSession,
        leg: PhoneLeg,
        *,
        call_id: str,
        on_closed: Callable[[], None] | None = None,
    ) -> None:
        self.session = session
        self.call_id = call_id
        self._leg = leg
        self._on_closed = on_closed
        self._loop = asyncio.get_running_loop()
        accepted = session.config.output_codec
        self._wire = accepted if accepted is not AudioCodec.PCM16 else AudioCodec.PCMU
        """The G.711 the call carries; nothing is transcoded to or from the session's formats."""
        self._feeder = PlayoutFeeder(leg.playout, self._wire)
        self._encode = uplink_encoder(self._wire)
        self._mismatch_logged = False
        self._outbox: asyncio.Queue[Any] | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._log = get_logger(component="emulator", call_id=call_id)

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())
        self._task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self._log.error("call_driver_failed", error=repr(task.exception()))

    async def stop(self) -> None:
        """End the session; an attached sideband is dropped without a close frame."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._outbox is not None:
            self._outbox.put_nowait(_ABORT)

    # ------------------------------------------------------------------ the call's timeline

    async def _run(self) -> None:
        next_tick = self._loop.time()
        while True:
            deadline = self.session.next_deadline()
            wake_at = next_tick if deadline is None else min(next_tick, deadline)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(wake_at):
                    await self._wake.wait()
            now = self._loop.time()
            if now >= next_tick:
                next_tick = max(next_tick + TICK_S, now - 1.0)  # no burst after a stall
                self._uplink(now)
            self._route(self.session.tick(now))

    def _uplink(self, now: float) -> None:
        pcm = self._leg.uplink.drain_bytes()
        if not pcm:
            return
        self._check_formats()
        self._route(self.session.input_audio(self._encode(pcm), now))

    def _check_formats(self) -> None:
        config = self.session.config
        if self._mismatch_logged or config.input_codec is config.output_codec is self._wire:
            return
        self._mismatch_logged = True
        self._log.warning(
            "sip_format_mismatch",
            call_codec=self._wire.value,
            session_input=config.input_codec.value,
            session_output=config.output_codec.value,
        )

    def dtmf(self, digit: str) -> None:
        """A keypad press on the SIP leg."""
        self._route(self.session.dtmf(digit, int(time.time()), self._loop.time()))

    # ------------------------------------------------------------------ events out

    def _route(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Send):
                self._event(action.event)
            elif isinstance(action, Close):
                self._post(action)
                if self.session.closed and self._on_closed is not None:
                    self._on_closed()  # the session is over (expired): so is the call
            elif isinstance(action, Abort):
                self._post(_ABORT)

    def _event(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "response.output_audio.delta":
            self._check_formats()
            self._feeder.push(event["item_id"], base64.b64decode(event["delta"]))
            return
        if kind == "response.output_audio.done":
            self._feeder.finish(event["item_id"])
        elif kind == "output_audio_buffer.cleared":
            self._feeder.flush()
        self._post(event)

    def _post(self, item: Any) -> None:
        if self._outbox is not None:
            self._outbox.put_nowait(item)

    # ------------------------------------------------------------------ the sideband

    async def serve(self, connection: ServerConnection) -> None:
        """Run an attached sideband WebSocket until it closes."""
        outbox: asyncio.Queue[Any] = asyncio.Queue()
        self._outbox = outbox
        self._log.info("sideband_attached", session_id=self.session.id)
        sender = asyncio.ensure_future(self._send_loop(connection, outbox))
        try:
            self._route(self.session.open(self._loop.time()))
            async for message in connection:
                self._route(self.session.receive(message, self._loop.time()))
                self._wake.set()  # the session's deadlines may have moved
        except ConnectionClosed:
            pass
        finally:
            if self._outbox is outbox:
                self._outbox = None
            outbox.put_nowait(None)
            with contextlib.suppress(ConnectionClosed):
                await sender
            self._log.info("sideband_detached", session_id=self.session.id)

    async def _send_loop(self, connection: ServerConnection, outbox: asyncio.Queue[Any]) -> None:
        while True:
            item = await outbox.get()
            if item is None:
                return
            if item is _ABORT:
                connection.transport.abort()
                return
            if isinstance(item, Close):
                await connection.close(item.code, item.reason)
                return
            if item["type"] == "output_audio_buffer.stopped":
                await self._played_out()
            await connection.send(json.dumps(item))

    async def _played_out(self) -> None:
        """Until the leg's ring has played what it holds (bounded)."""
        deadline = self._loop.time() + DRAIN_WAIT_S
        # the clock thread drains the ring: polling at frame rate beats a cross-thread wakeup
        while self._loop.time() < deadline and self._feeder.pending_ms() > 0:  # noqa: ASYNC110
            await asyncio.sleep(TICK_S)
