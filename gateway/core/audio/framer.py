"""Re-chunk a byte stream of any chunk sizes into exact fixed-size frames."""

from __future__ import annotations

from gateway.core.audio.codec import AudioCodec
from gateway.errors import AudioError

__all__ = ["Framer"]


class Framer:
    """Collects bytes and hands out whole frames of ``frame_bytes``.

    Bytes are conserved: everything pushed comes out, in order, as frames from :meth:`push`
    followed by the padded tail from :meth:`flush`.
    """

    __slots__ = ("_buf", "_frame_bytes", "_silence")

    def __init__(self, frame_bytes: int, silence_byte: int = 0) -> None:
        if frame_bytes <= 0:
            raise AudioError(f"frame size must be positive, got {frame_bytes}")
        self._frame_bytes = frame_bytes
        self._silence = bytes([silence_byte])
        self._buf = bytearray()

    @classmethod
    def for_codec(cls, codec: AudioCodec) -> Framer:
        """A framer of 20 ms frames of ``codec``, padding with its silence."""
        return cls(codec.frame_bytes, codec.silence_byte)

    @property
    def frame_bytes(self) -> int:
        return self._frame_bytes

    @property
    def pending(self) -> int:
        """Bytes held that do not yet make a whole frame."""
        return len(self._buf)

    def push(self, data: bytes) -> list[bytes]:
        """Add ``data``; return the whole frames now available (possibly none)."""
        buf = self._buf
        size = self._frame_bytes
        if not buf and len(data) == size:
            return [bytes(data)]
        buf += data
        whole = len(buf) - len(buf) % size
        if whole == 0:
            return []
        frames = [bytes(buf[i : i + size]) for i in range(0, whole, size)]
        del buf[:whole]
        return frames

    def flush(self) -> bytes | None:
        """Return the held tail padded with silence to a whole frame, or None if nothing is held."""
        if not self._buf:
            return None
        tail = bytes(self._buf) + self._silence * (self._frame_bytes - len(self._buf))
        self._buf.clear()
        return tail

    def clear(self) -> int:
        """Drop the held tail (barge-in); return how many bytes were dropped."""
        dropped = len(self._buf)
        self._buf.clear()
        return dropped
