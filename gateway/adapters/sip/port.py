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

A port may serve call after call (:meth:`bind` / :meth:`unbind`): destroying one while the
clock runs races the bridge. The C++ destructor only *queues* the port's removal, so a tick
already under way can still call into it: measured in a soak of back-to-back calls (the next
call restarts the clock before the last one's port is dropped), the callback ran on a
half-destroyed Python object once every few dozen calls, and soon after the process hung.
The SIP stack therefore keeps its ports and reuses them.

The clock thread is a C thread: SWIG enters every callback with ``PyGILState_Ensure`` and
leaves with ``PyGILState_Release``, which on such a thread creates and destroys a Python
thread state each time (an ``mmap``, a ``munmap`` and a ``gettid`` per callback, 300 system
calls a second for three calls). :func:`_keep_thread_state` takes one extra, never released
``PyGILState_Ensure`` the first time a thread calls in, so its thread state lives on and each
later callback only takes and drops the GIL. The clock thread ends when the last call's media
does (the endpoint stops the clock), leaving its pinned state behind: the endpoint then calls
:func:`release_thread_states`, which frees it (a few kB a clock start otherwise).
"""

from __future__ import annotations

import contextlib
import ctypes
import threading
from collections.abc import Callable
from typing import Any

import pjsua2 as pj

from gateway.adapters.sip.bytevec import FrameAccess
from gateway.adapters.sip.media import FRAME_BYTES, SILENCE, PlayoutRing, UplinkQueue
from gateway.core.audio.codec import FRAME_MS
from gateway.core.audio.transcode import PHONE_RATE

__all__ = ["CallMediaPort", "media_format", "release_thread_states"]

_thread = threading.local()
_capi = ctypes.PyDLL(None)  # the interpreter's C API, with our own signatures
_capi.PyGILState_Ensure.restype = ctypes.c_int
_capi.PyThreadState_Get.restype = ctypes.c_void_p
_capi.PyThreadState_Clear.argtypes = [ctypes.c_void_p]
_capi.PyThreadState_Delete.argtypes = [ctypes.c_void_p]
_pinned: list[int] = []
"""Thread states pinned by :func:`_keep_thread_state` and not yet released."""


def _keep_thread_state() -> None:
    """Pin the calling (C) thread's Python thread state for the rest of the thread's life."""
    if not getattr(_thread, "kept", False):
        _capi.PyGILState_Ensure()
        _thread.kept = True
        _pinned.append(_capi.PyThreadState_Get())


def release_thread_states() -> None:
    """Free the thread states pinned by clock threads that have ended.

    Only once pjmedia has stopped the clock (which joins its thread) and before it starts
    another: with no clock thread alive, every pinned state belongs to a finished thread. Call
    it on a Python thread (it holds the GIL).
    """
    while _pinned:
        state = _pinned.pop()
        _capi.PyThreadState_Clear(state)
        _capi.PyThreadState_Delete(state)


def media_format() -> Any:
    """The port's format: PCM16 mono at 8 kHz in 20 ms frames."""
    fmt = pj.MediaFormatAudio()
    fmt.init(pj.PJMEDIA_FORMAT_PCM, PHONE_RATE, 1, FRAME_MS * 1000, 16)
    return fmt


def _discard(_frame: bytes) -> None:
    """The uplink of an idle port."""


def _silence() -> bytes:
    """The playout of an idle port."""
    return SILENCE


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
        self._put: Callable[[bytes], None] = uplink.put
        self._next: Callable[[], bytes] = ring.next_frame
        self._peer: Any = None

    def bind(self, uplink: UplinkQueue, ring: PlayoutRing) -> None:
        """Serve a (new) call: the caller's frames go to ``uplink``, its ear plays ``ring``."""
        self.uplink, self.ring = uplink, ring
        self._put, self._next = uplink.put, ring.next_frame

    def unbind(self) -> None:
        """Between calls: whatever the bridge still hands over goes nowhere; silence out."""
        self._put, self._next = _discard, _silence

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
        self._peer = call_audio  # first: disconnect() undoes half a connect that failed
        call_audio.startTransmit(self)
        self.startTransmit(call_audio)

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
            _keep_thread_state()
            self._put(self._read(frame))
        except Exception:  # an exception must not reach C++ (it would abort the process)
            self.errors += 1

    def onFrameRequested(self, frame: Any) -> None:
        try:
            _keep_thread_state()
            self._write(frame, self._next())
        except Exception:  # an exception must not reach C++ (it would abort the process)
            self.errors += 1
