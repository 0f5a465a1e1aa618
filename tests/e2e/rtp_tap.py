"""See the RTP a process receives on loopback, without being that process: a packet-socket tap.

SIPp does not report the RTP it receives, so the tests watch the wire instead: a Linux
``AF_PACKET`` socket on ``lo`` with a kernel (BPF) filter keeps copies of the UDP datagrams
sent to one port, with their arrival time. Like SIPp's ``play_pcap_audio`` (which sends from a
raw socket), this needs root or ``CAP_NET_RAW``; :func:`require_raw_sockets` says so.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from gateway.app.wavio import rms_dbfs
from gateway.core.audio._audioop import audioop

__all__ = ["RtpPacket", "RtpTap", "require_raw_sockets", "rtp_tap"]

_ETH_P_IP = 0x0800
_PACKET_OUTGOING = 4
_SO_ATTACH_FILTER = 26
_SO_TIMESTAMPNS = 35  # also SCM_TIMESTAMPNS: the kernel's receive time, as a struct timespec
_TIMESPEC = struct.Struct("qq")
# Ethernet (14) + IPv4 without options (20): the UDP header starts at 34.
_IP_PROTO_AT, _UDP_DPORT_AT, _UDP_AT = 23, 36, 34


def require_raw_sockets() -> None:
    """Skip (or fail under REQUIRE_SYSTEM_TOOLS=1) unless this process may open raw sockets."""
    try:
        socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(_ETH_P_IP)).close()
    except (PermissionError, OSError) as exc:
        message = f"raw sockets are not allowed here ({exc}); SIPp pcap play needs them too"
        if os.environ.get("REQUIRE_SYSTEM_TOOLS") == "1":
            pytest.fail(message)
        pytest.skip(message)


def _udp_port_filter(port: int) -> bytes:
    """Classic BPF: accept IPv4/UDP to ``port`` (no IP options), drop everything else."""
    ldb, ldh, jeq, ret = 0x30, 0x28, 0x15, 0x06  # BPF_LD|B|ABS, BPF_LD|H|ABS, BPF_JMP|JEQ|K
    program = [
        (ldb, 0, 0, _IP_PROTO_AT),
        (jeq, 0, 3, socket.IPPROTO_UDP),
        (ldh, 0, 0, _UDP_DPORT_AT),
        (jeq, 0, 1, port),
        (ret, 0, 0, 0xFFFF),
        (ret, 0, 0, 0),
    ]
    return b"".join(struct.pack("HBBI", *insn) for insn in program)


@dataclass(frozen=True, slots=True)
class RtpPacket:
    at: float
    """When it crossed loopback, on the ``time.monotonic()`` clock: the kernel's receive
    timestamp, so a tap thread that runs late does not show gaps that were not on the wire."""
    src_port: int
    payload_type: int
    seq: int
    ssrc: int
    payload: bytes

    def level_dbfs(self) -> float:
        """Loudness of a PCMU payload (-inf for digital silence)."""
        return rms_dbfs(audioop.ulaw2lin(self.payload, 2))


class RtpTap:
    """Every RTP packet sent to UDP ``port`` on loopback while the tap runs."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.packets: list[RtpPacket] = []
        self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(_ETH_P_IP))
        self._attach(_udp_port_filter(port))
        self._sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
        self._sock.bind(("lo", 0))
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name=f"rtp-tap:{port}", daemon=True)

    def _attach(self, program: bytes) -> None:
        """SO_ATTACH_FILTER takes a ``struct sock_fprog``: instruction count and a pointer."""
        buffer = ctypes.create_string_buffer(program)
        fprog = struct.pack("HL", len(program) // 8, ctypes.addressof(buffer))
        self._sock.setsockopt(socket.SOL_SOCKET, _SO_ATTACH_FILTER, fprog)

    def start(self) -> RtpTap:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._sock.close()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                data, ancillary, _flags, address = self._sock.recvmsg(65535, 64)
            except TimeoutError:
                continue
            except OSError:
                return
            if address[2] == _PACKET_OUTGOING:  # loopback shows each packet leaving and arriving
                continue
            header = _UDP_AT + 8
            if len(data) < header + 12:
                continue
            src_port = struct.unpack_from("!H", data, _UDP_AT)[0]
            _flags, marker_pt, seq, _ts, ssrc = struct.unpack_from("!BBHII", data, header)
            at = _kernel_time(ancillary)
            self.packets.append(
                RtpPacket(at, src_port, marker_pt & 0x7F, seq, ssrc, data[header + 12 :])
            )

    def between(self, start: float, end: float) -> list[RtpPacket]:
        return [p for p in list(self.packets) if start <= p.at < end]

    def voiced(self, start: float, end: float, threshold_dbfs: float = -40.0) -> int:
        """PCMU packets in [start, end) louder than ``threshold_dbfs`` (speech, not silence)."""
        return sum(
            1
            for p in self.between(start, end)
            if p.payload_type == 0 and p.level_dbfs() > threshold_dbfs
        )


def _kernel_time(ancillary: list[tuple[int, int, bytes]]) -> float:
    """The packet's kernel receive time (wall clock) moved onto ``time.monotonic()``; the
    read time if the kernel gave none."""
    for level, kind, value in ancillary:
        if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS and len(value) >= 16:
            sec, nsec = _TIMESPEC.unpack_from(value)
            return sec + nsec / 1e9 - (time.time() - time.monotonic())
    return time.monotonic()


@contextlib.contextmanager
def rtp_tap(port: int) -> Iterator[RtpTap]:
    tap = RtpTap(port).start()
    try:
        yield tap
    finally:
        tap.stop()
