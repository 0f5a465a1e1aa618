"""The per-call pjsua2 media port: a thin layer joining pjmedia's clock thread to the buffers.

:class:`CallMediaPort` is an ``AudioMediaPort`` at 8 kHz, 20 ms, mono, 16-bit. pjmedia's
conference bridge calls it on its clock thread:

* ``onFrameReceived`` -> the caller's audio -> :meth:`UplinkQueue.put`;
* ``onFrameRequested`` <- :meth:`PlayoutRing.next_frame` -> the caller's ear.

Both callbacks are bound at construction (frame access, queue and ring methods), so the hot path
is two attribute loads and two calls. An exception must never leave a callback: SWIG would turn
it into a C++ exception that pjmedia does not catch (the process would abort), so each callback
counts and swallows errors instead.

Connecting and disconnecting (``startTransmit`` / ``stopTransmit``) and creating the port take
the conference bridge's lock, so they run on a pjlib-registered thread that is not the clock
thread (see docs/pjsua2-notes.md).
"""

from __future__ import annotations

import contextlib
from typing import Any

import pjsua2 as pj

from gateway.adapters.sip.bytevec import FrameAccess
from gateway.adapters.sip.media import FRAME_BYTES, PlayoutRing, UplinkQueue
from gateway.core.audio.codec import FRAME_MS
from gateway.core.audio.transcode import PHONE_RATE

__all__ = ["CallMediaPort", "media_format"]


def media_format() -> Any:
    """The port's format: PCM16 mono at 8 kHz in 20 ms frames."""
    fmt = pj.MediaFormatAudio()
    fmt.init(pj.PJMEDIA_FORMAT_PCM, PHONE_RATE, 1, FRAME_MS * 1000, 16)
    return fmt


class CallMediaPort(pj.AudioMediaPort):  # type: ignore[misc]  # pjsua2 is untyped
    """One call's media port; create with :meth:`create`, then :meth:`connect` to the call."""

    def __init__(self, uplink: UplinkQueue, ring: PlayoutRing, access: FrameAccess) -> None:
        super().__init__()
        self.uplink = uplink
        self.ring = ring
        self.access_path = access.name
        self.errors = 0
        """Exceptions swallowed in the clock-thread callbacks (should stay 0)."""
        self._read = access.read
        self._write = access.writer(FRAME_BYTES)
        self._put = uplink.put
        self._next = ring.next_frame
        self._peer: Any = None

    @classmethod
    def create(
        cls, name: str, uplink: UplinkQueue, ring: PlayoutRing, access: FrameAccess
    ) -> CallMediaPort:
        """A port registered with the conference bridge (not yet connected to anything)."""
        port = cls(uplink, ring, access)
        port.createPort(name, media_format())
        return port

    def connect(self, call_audio: Any) -> None:
        """Start audio both ways between this port and a call's ``AudioMedia``."""
        call_audio.startTransmit(self)
        self.startTransmit(call_audio)
        self._peer = call_audio

    def disconnect(self) -> None:
        """Stop audio both ways; safe to call twice and after the call's media is gone."""
        peer, self._peer = self._peer, None
        if peer is None:
            return
        for source, sink in ((peer, self), (self, peer)):
            # pj.Error: the call's media was already torn down with the call
            with contextlib.suppress(pj.Error):
                source.stopTransmit(sink)

    # --- clock thread ------------------------------------------------------------------------

    def onFrameReceived(self, frame: Any) -> None:
        try:
            self._put(self._read(frame))
        except Exception:  # an exception must not reach C++ (it would abort the process)
            self.errors += 1

    def onFrameRequested(self, frame: Any) -> None:
        try:
            self._write(frame, self._next())
        except Exception:  # an exception must not reach C++ (it would abort the process)
            self.errors += 1
