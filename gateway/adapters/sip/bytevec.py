"""Moving audio between pjsua2 ``MediaFrame`` objects and Python ``bytes`` in microseconds.

pjsua2 hands a media port's callbacks a ``MediaFrame`` whose ``buf`` is a SWIG-wrapped
``std::vector<unsigned char>``. The obvious conversions are slow: ``bytes(frame.buf)`` iterates
the vector element by element through SWIG (~300 µs per 20 ms frame) and ``ByteVector(data)``
converts a Python sequence (~16 µs). The fast path skips both:

* **read**: the SWIG ``this`` of a frame is the address of the C++ ``MediaFrame``; its ``buf``
  member sits at a fixed offset, and a ``std::vector`` (libstdc++ and libc++ alike) begins with
  its ``begin`` and ``end`` data pointers. Two pointer reads and one ``ctypes.string_at`` give the
  bytes (~1.5 µs).
* **write**: each writer owns one ``ByteVector`` of exactly one frame, and a ``memoryview`` over
  its storage. A frame is copied into that storage, then the vector is assigned to ``frame.buf``
  (one C++ vector copy) and ``frame.type`` is set to audio (~2 µs).

Both rely on the memory layout of this particular build, so :func:`select_frame_access` proves
them at start-up on real pjsua2 objects — pointers that agree with ``size()``, every byte read and
written equal to the slow path's — and falls back to the slow path, logging why, if anything
disagrees. The layout checks run before any data pointer is followed, so a wrong layout ends in
the fallback, not in a crash.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import pjsua2 as pj

from gateway.errors import GatewayError
from gateway.observability.logging import get_logger

__all__ = [
    "FAST",
    "SLOW",
    "FrameAccess",
    "FrameAccessError",
    "FrameReader",
    "FrameWriter",
    "check_fast_access",
    "fast_access",
    "select_frame_access",
    "slow_access",
]

FAST = "fast"
SLOW = "slow"

_AUDIO = pj.PJMEDIA_FRAME_TYPE_AUDIO
_POINTERS = ctypes.c_size_t * 3  # std::vector: begin, end, end of storage
_string_at = ctypes.string_at
_log = get_logger()


class FrameWriter(Protocol):
    """Fills the frame handed to ``onFrameRequested``; one per media port (clock thread only)."""

    def __call__(self, frame: Any, data: bytes, /) -> None: ...


class FrameReader(Protocol):
    """Reads the audio of the frame given to ``onFrameReceived`` (clock thread)."""

    def __call__(self, frame: Any, /) -> bytes: ...


@dataclass(frozen=True, slots=True)
class FrameAccess:
    """How this process reads and writes pjsua2 frames; chosen once, at start-up."""

    name: str
    """:data:`FAST` or :data:`SLOW`."""
    read: FrameReader
    """``read(frame) -> bytes``: the audio of a frame given to ``onFrameReceived``."""
    writer: Callable[[int], FrameWriter]
    """``writer(frame_bytes)``: a new writer for frames of exactly that size (one per port)."""


# --- the slow, always-correct path -----------------------------------------------------------


def _slow_read(frame: Any) -> bytes:
    return bytes(frame.buf)


def _slow_writer(frame_bytes: int) -> FrameWriter:
    def write(frame: Any, data: bytes) -> None:
        frame.buf = pj.ByteVector(data)
        frame.type = _AUDIO

    return write


def slow_access() -> FrameAccess:
    """Frame access through SWIG's own conversions: correct everywhere, ~300 µs per read."""
    return FrameAccess(SLOW, _slow_read, _slow_writer)


# --- the fast path -------------------------------------------------------------------------


def _vector_pointers(address: int) -> tuple[int, int, int]:
    begin, end, capacity = _POINTERS.from_address(address)
    return begin, end, capacity


def _fast_reader(buf_offset: int) -> FrameReader:
    pointers = _POINTERS.from_address

    def read(frame: Any) -> bytes:
        begin, end, _ = pointers(int(frame.this) + buf_offset)
        return _string_at(begin, end - begin)

    return read


class _FastWriter:
    """Copies a frame into an owned vector's storage, then assigns the vector to the frame."""

    __slots__ = ("_size", "_vector", "_view")

    def __init__(self, frame_bytes: int) -> None:
        self._size = frame_bytes
        self._vector = pj.ByteVector(bytes(frame_bytes))
        begin, end, _ = _vector_pointers(int(self._vector.this))
        if end - begin != frame_bytes:
            raise RuntimeError(f"ByteVector of {frame_bytes} bytes spans {end - begin}")
        # The vector is never resized, so its storage (and this view of it) stays valid.
        self._view = memoryview((ctypes.c_char * frame_bytes).from_address(begin)).cast("B")

    def __call__(self, frame: Any, data: bytes) -> None:
        self._view[:] = data
        frame.buf = self._vector
        frame.type = _AUDIO


def fast_access(buf_offset: int) -> FrameAccess:
    """Frame access by pointer; only valid once :func:`check_fast_access` has passed."""
    return FrameAccess(FAST, _fast_reader(buf_offset), _FastWriter)


# --- the start-up self-test ------------------------------------------------------------------


class FrameAccessError(GatewayError):
    """The fast path disagrees with this build's memory layout."""


def _pattern(size: int, seed: int) -> bytes:
    return bytes((i * 7 + seed * 13 + (i >> 8)) & 0xFF for i in range(size))


def _check_vector_layout(size: int) -> None:
    vector = pj.ByteVector(_pattern(size, 1))
    begin, end, capacity = _vector_pointers(int(vector.this))
    if not (0 < begin <= end <= capacity) or end - begin != vector.size():
        raise FrameAccessError(f"vector pointers {begin:#x} {end:#x} {capacity:#x} do not fit")


def _buf_offset() -> int:
    offsets = set()
    for _ in range(3):
        frame = pj.MediaFrame()
        offsets.add(int(frame.buf.this) - int(frame.this))
    offset = offsets.pop()
    if offsets or not 0 <= offset <= 64:
        raise FrameAccessError(f"MediaFrame.buf offset is not a small constant: {offset}")
    return offset


def _check_frame_layout(offset: int, size: int) -> None:
    frame = pj.MediaFrame()
    frame.buf = pj.ByteVector(_pattern(size, 5))
    begin, end, capacity = _vector_pointers(int(frame.this) + offset)
    if not (0 < begin <= end <= capacity) or end - begin != size:
        raise FrameAccessError(f"MediaFrame+{offset} does not hold a vector of {size} bytes")


def _check_round_trip(access: FrameAccess, frame_bytes: int) -> None:
    write = access.writer(frame_bytes)
    for seed in range(3):
        data = _pattern(frame_bytes, seed + 2)
        received = pj.MediaFrame()
        received.buf = pj.ByteVector(data)
        if access.read(received) != data:
            raise FrameAccessError("fast read differs from the frame's bytes")
        requested = pj.MediaFrame()
        requested.size = frame_bytes
        write(requested, data)
        if bytes(requested.buf) != data or requested.type != _AUDIO:
            raise FrameAccessError("fast write differs from the bytes written")
    if access.read(pj.MediaFrame()) != b"":
        raise FrameAccessError("fast read of an empty frame is not empty")


def check_fast_access(frame_bytes: int) -> FrameAccess:
    """Prove the fast path on this build; raises :class:`FrameAccessError` if it is wrong."""
    for size in (1, 7, frame_bytes, 4096):
        _check_vector_layout(size)
    offset = _buf_offset()
    for size in (3, frame_bytes):
        _check_frame_layout(offset, size)
    access = fast_access(offset)
    _check_round_trip(access, frame_bytes)
    return access


def select_frame_access(frame_bytes: int = 320, *, allow_fast: bool = True) -> FrameAccess:
    """The fast frame access if its self-test passes on this build, else the slow one.

    Logs ``frame_access_selected`` with the path taken, and the reason for a fallback.
    """
    if not allow_fast:
        _log.info("frame_access_selected", path=SLOW, reason="fast path disabled")
        return slow_access()
    try:
        access = check_fast_access(frame_bytes)
    except Exception as exc:  # any failure of the self-test means: fall back
        _log.warning("frame_access_selected", path=SLOW, reason=f"self-test failed: {exc}")
        return slow_access()
    _log.info("frame_access_selected", path=FAST)
    return access
