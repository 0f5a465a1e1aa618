"""A wake-up from pjmedia's clock thread to the asyncio loop, without asyncio on that thread.

The clock thread must not touch the loop (no ``call_soon_threadsafe``, nothing that can block),
yet the uplink should leave as soon as a caller frame is in. :class:`Doorbell` is an eventfd
(a pipe where there is none) that the loop watches with ``add_reader``: :meth:`ring` is one
non-blocking write, and only the first ring after the loop :meth:`arm`\\ s it writes at all, so
a clock tick that delivers every call's frame costs one syscall, not one per call.

No frame is left behind: the loop arms *before* it drains, and the clock thread puts a frame
*before* it rings. A frame put before the arm is in that drain; one put after it rings again.
"""

from __future__ import annotations

import contextlib
import os
import sys

__all__ = ["Doorbell"]

_ONE = (1).to_bytes(8, sys.byteorder)
"""An eventfd takes a native 64-bit counter increment (a pipe takes any bytes)."""


class Doorbell:
    """One readable fd; :meth:`ring` from any thread, :meth:`clear` and :meth:`arm` on the loop."""

    __slots__ = ("_armed", "_read_fd", "_write_fd", "rings")

    def __init__(self) -> None:
        if hasattr(os, "eventfd"):
            fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
            self._read_fd, self._write_fd = fd, fd
        else:  # pragma: no cover - Linux has eventfd; a pipe does the same elsewhere
            self._read_fd, self._write_fd = os.pipe()
            os.set_blocking(self._read_fd, False)
            os.set_blocking(self._write_fd, False)
        self._armed = True
        self.rings = 0
        """Writes so far (wake-ups asked for)."""

    def fileno(self) -> int:
        """The fd to watch for reading."""
        return self._read_fd

    def ring(self) -> None:
        """Any thread: wake the loop, unless a ring since the last :meth:`arm` already did."""
        if not self._armed:
            return
        self._armed = False
        self.rings += 1
        try:  # noqa: SIM105 - a plain try is cheaper on the clock thread, every tick
            os.write(self._write_fd, _ONE)
        except OSError:  # full (a pipe nobody read) or closed: the loop is woken, or gone
            pass

    def clear(self) -> None:
        """Loop: consume the wake-up, so the fd is not readable until the next ring."""
        with contextlib.suppress(BlockingIOError):
            os.read(self._read_fd, 4096)

    def arm(self) -> None:
        """Loop, just before draining: the next ring writes again."""
        self._armed = True

    def close(self) -> None:
        for fd in {self._read_fd, self._write_fd}:
            with contextlib.suppress(OSError):
                os.close(fd)
