#!/usr/bin/env python3
"""Write libpcap files of RTP packets for SIPp's ``play_pcap_audio`` (standard library only).

Two kinds of capture:

``speech``
    G.711 μ-law (PCMU, payload type 0) RTP, one packet per 20 ms (160 samples), from a WAV file
    (any rate, 8/16-bit, mono or stereo; resampled to 8 kHz) or from text spoken by espeak-ng.
    Silence can be added before and after (``--lead-ms``, ``--tail-ms``): a voice-activity
    detector needs the quiet after an utterance to end the caller's turn.

``silence``
    PCMU packets of digital silence (μ-law 0xFF) for ``--ms``: RTP that keeps a call's media
    alive without being speech.

``dtmf``
    RFC 4733 (ex-2833) ``telephone-event`` packets for the given digits (``0-9 * # A-D``): per
    digit, an update every 20 ms with the marker bit on the first, the same timestamp throughout
    and a growing duration, then the end packet (E bit) sent three times.

Each packet is a full Ethernet/IPv4/UDP frame (link type ``DLT_EN10MB``) with correct lengths
and checksums, RTP version 2, one SSRC, consecutive sequence numbers and an 8 kHz timestamp,
spaced in time as it would be on the wire. SIPp keeps the UDP payload, replaces the addresses
and ports with the call's (it plays to the port in the far end's SDP, from its media port ``-mp``),
and paces the packets by their capture times. All packets use one destination port, which
SIPp needs (it offsets ports from the lowest one it sees).

Examples::

    make_pcap.py speech --say "What are your opening hours?" --tail-ms 1500 -o hours.pcap
    make_pcap.py speech --wav line.wav -o line.pcap
    make_pcap.py silence --ms 30000 -o quiet.pcap
    make_pcap.py dtmf --digits 12# -o keys.pcap

Playing a capture needs a raw socket, so SIPp must run as root (or with ``CAP_NET_RAW``).
"""

from __future__ import annotations

import argparse
import math
import shutil
import struct
import subprocess
import sys
import tempfile
import wave
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

RATE = 8000
FRAME_SAMPLES = 160
"""20 ms at 8 kHz: one PCMU packet."""
PT_PCMU = 0
PT_EVENT = 101
"""The telephone-event payload type offered by the scenarios in this directory."""
ULAW_SILENCE = 0xFF
EVENTS = {**{str(d): d for d in range(10)}, "*": 10, "#": 11, "A": 12, "B": 13, "C": 14, "D": 15}
"""RFC 4733 event codes of the DTMF keys."""
START_TIME = 1_700_000_000.0
"""Capture time of the first packet (only the spacing matters to SIPp)."""


# ------------------------------------------------------------------------------------ audio


def _ulaw_byte(sample: int) -> int:
    """G.711 μ-law of one 16-bit linear sample (the classic 14-bit reference algorithm)."""
    value = sample >> 2
    mask = 0x7F if value < 0 else 0xFF
    value = min(-value if value < 0 else value, 8159) + 33  # clip, then add the bias
    segment = (value >> 6).bit_length()  # 0..7 (8: beyond the last segment)
    if segment > 7:
        return 0x7F ^ mask
    return ((segment << 4) | ((value >> (segment + 1)) & 0x0F)) ^ mask


_ULAW = bytes(_ulaw_byte(s - 65536 if s >= 32768 else s) for s in range(65536))
"""Encoding table indexed by the sample's unsigned 16-bit value."""


def ulaw_encode(samples: Iterable[int]) -> bytes:
    return bytes(_ULAW[s & 0xFFFF] for s in samples)


def read_wav(path: Path) -> tuple[list[int], int]:
    """Mono 16-bit samples of a WAV file and its sample rate."""
    with wave.open(str(path), "rb") as wav:
        width, channels, rate = wav.getsampwidth(), wav.getnchannels(), wav.getframerate()
        raw = wav.readframes(wav.getnframes())
    if width == 1:
        samples = [(b - 128) << 8 for b in raw]  # 8-bit WAV is unsigned
    elif width == 2:
        samples = list(struct.unpack(f"<{len(raw) // 2}h", raw))
    else:
        raise SystemExit(f"{path}: {8 * width}-bit samples are not supported (8 or 16)")
    if channels > 1:
        samples = [
            sum(samples[i : i + channels]) // channels for i in range(0, len(samples), channels)
        ]
    return samples, rate


def resample(samples: list[int], rate: int, to_rate: int = RATE) -> list[int]:
    """Linear-interpolation resampling, after a moving average when the rate goes down.

    Good enough for test speech (a VAD and a recogniser stand-in listen to it), not for music.
    """
    if rate == to_rate or not samples:
        return list(samples)
    if rate > to_rate:
        width = max(1, round(rate / to_rate))
        acc, smoothed = 0, []
        for i, s in enumerate(samples):
            acc += s - (samples[i - width] if i >= width else 0)
            smoothed.append(acc // min(i + 1, width))
        samples = smoothed
    step = rate / to_rate
    count = int(len(samples) / step)
    out = []
    for n in range(count):
        pos = n * step
        i = int(pos)
        frac = pos - i
        nxt = samples[i + 1] if i + 1 < len(samples) else samples[i]
        out.append(int(samples[i] + (nxt - samples[i]) * frac))
    return out


def espeak(text: str, voice: str = "en-us", wpm: int = 150) -> Path:
    """A temporary WAV of ``text`` spoken by espeak-ng (the caller deletes it)."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise SystemExit("espeak-ng is not installed (apt-get install espeak-ng)")
    handle = tempfile.NamedTemporaryFile(suffix=".wav", delete=False)  # noqa: SIM115
    handle.close()
    subprocess.run(  # noqa: S603  (fixed executable, the text is one argument)
        [exe, "-v", voice, "-s", str(wpm), "-w", handle.name, text], check=True, timeout=60
    )
    return Path(handle.name)


# -------------------------------------------------------------------------------------- RTP


@dataclass
class RtpStream:
    """Sequence number, timestamp and SSRC of one RTP source."""

    payload_type: int
    ssrc: int = 0x5EED0001
    seq: int = 1000
    timestamp: int = 160_000

    def packet(self, payload: bytes, *, marker: bool = False, advance: int = 0) -> bytes:
        """The next RTP packet (sequence + 1); the timestamp then moves on by ``advance``."""
        header = struct.pack(
            "!BBHII",
            0x80,  # version 2, no padding, no extension, no CSRC
            (0x80 if marker else 0) | self.payload_type,
            self.seq & 0xFFFF,
            self.timestamp & 0xFFFFFFFF,
            self.ssrc,
        )
        self.seq += 1
        self.timestamp += advance
        return header + payload


def speech_packets(ulaw: bytes, stream: RtpStream) -> Iterator[tuple[float, bytes]]:
    """(seconds from start, RTP packet) for μ-law audio, one packet per 20 ms."""
    ulaw += bytes([ULAW_SILENCE]) * (-len(ulaw) % FRAME_SAMPLES)
    for n, at in enumerate(range(0, len(ulaw), FRAME_SAMPLES)):
        frame = ulaw[at : at + FRAME_SAMPLES]
        yield n * 0.02, stream.packet(frame, marker=n == 0, advance=FRAME_SAMPLES)


def dtmf_packets(
    digits: str, stream: RtpStream, *, event_ms: int = 160, gap_ms: int = 200, volume: int = 10
) -> Iterator[tuple[float, bytes]]:
    """(seconds from start, RTP packet) of RFC 4733 events for ``digits``, one after another."""
    at = 0.0
    for digit in digits.upper():
        event = EVENTS.get(digit)
        if event is None:
            raise SystemExit(f"not a DTMF key: {digit!r} (0-9 * # A-D)")
        updates = max(1, event_ms // 20)
        start_ts = stream.timestamp
        for k in range(1, updates + 1):
            end = k == updates
            duration = k * FRAME_SAMPLES
            flags = (0x80 if end else 0) | (volume & 0x3F)
            payload = struct.pack("!BBH", event, flags, duration)
            for _ in range(3 if end else 1):  # the end packet goes out three times
                stream.timestamp = start_ts  # one timestamp for the whole event
                yield at, stream.packet(payload, marker=k == 1)
                at += 0.02
        stream.timestamp = start_ts + updates * FRAME_SAMPLES + gap_ms * RATE // 1000
        at += gap_ms / 1000


# ----------------------------------------------------------------------------------- pcap


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _ip(address: str) -> bytes:
    return bytes(int(part) for part in address.split("."))


def frame(payload: bytes, src: tuple[str, int], dst: tuple[str, int], ident: int) -> bytes:
    """An Ethernet II frame holding an IPv4/UDP datagram with ``payload``."""
    src_ip, dst_ip = _ip(src[0]), _ip(dst[0])
    length = 8 + len(payload)
    pseudo = src_ip + dst_ip + struct.pack("!BBH", 0, 17, length)
    udp = struct.pack("!HHHH", src[1], dst[1], length, 0) + payload
    udp_sum = _checksum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", udp_sum) + udp[8:]
    ip = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + length, ident & 0xFFFF, 0x4000, 64, 17, 0, src_ip, dst_ip
    )
    ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    ethernet = bytes.fromhex("020000000002020000000001") + b"\x08\x00"
    return ethernet + ip + udp


def write_pcap(
    path: Path,
    packets: Iterable[tuple[float, bytes]],
    src: tuple[str, int] = ("127.0.0.1", 6000),
    dst: tuple[str, int] = ("127.0.0.1", 7078),
) -> int:
    """Write a libpcap 2.4 file (microseconds, Ethernet); returns the packet count."""
    count = 0
    with path.open("wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for offset, rtp in packets:
            data = frame(rtp, src, dst, count)
            stamp = START_TIME + offset
            seconds = math.floor(stamp)
            micros = round((stamp - seconds) * 1_000_000)
            out.write(struct.pack("<IIII", seconds, micros, len(data), len(data)))
            out.write(data)
            count += 1
    return count


# ------------------------------------------------------------------------------------ CLI


def _speech(args: argparse.Namespace) -> list[tuple[float, bytes]]:
    wav = Path(args.wav) if args.wav else espeak(args.say, args.voice, args.wpm)
    try:
        samples, rate = read_wav(wav)
    finally:
        if not args.wav:
            wav.unlink(missing_ok=True)
    samples = resample(samples, rate)
    if args.gain_db:
        factor = 10 ** (args.gain_db / 20)
        samples = [max(-32768, min(32767, int(s * factor))) for s in samples]
    lead = bytes([ULAW_SILENCE]) * (args.lead_ms * RATE // 1000)
    tail = bytes([ULAW_SILENCE]) * (args.tail_ms * RATE // 1000)
    stream = RtpStream(args.pt, args.ssrc, args.seq, args.timestamp)
    return list(speech_packets(lead + ulaw_encode(samples) + tail, stream))


def _silence(args: argparse.Namespace) -> list[tuple[float, bytes]]:
    stream = RtpStream(args.pt, args.ssrc, args.seq, args.timestamp)
    return list(speech_packets(bytes([ULAW_SILENCE]) * (args.ms * RATE // 1000), stream))


def _dtmf(args: argparse.Namespace) -> list[tuple[float, bytes]]:
    stream = RtpStream(args.pt, args.ssrc, args.seq, args.timestamp)
    return list(dtmf_packets(args.digits, stream, event_ms=args.event_ms, gap_ms=args.gap_ms))


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write a pcap of RTP packets (PCMU speech or RFC 4733 DTMF) for SIPp.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:" + __doc__.split("Examples::", 1)[1] if __doc__ else None,
    )
    kinds = parser.add_subparsers(dest="kind", required=True)
    speech = kinds.add_parser("speech", help="G.711 μ-law speech, 20 ms packets (PT 0)")
    source = speech.add_mutually_exclusive_group(required=True)
    source.add_argument("--wav", help="a WAV file (any rate, 8/16-bit, mono/stereo)")
    source.add_argument("--say", help="text for espeak-ng to speak")
    speech.add_argument("--voice", default="en-us", help="espeak-ng voice")
    speech.add_argument("--wpm", type=int, default=150, help="espeak-ng words per minute")
    speech.add_argument("--gain-db", type=float, default=0.0, help="amplify (or attenuate)")
    speech.add_argument("--lead-ms", type=int, default=0, help="silence before")
    speech.add_argument("--tail-ms", type=int, default=0, help="silence after")
    speech.set_defaults(build=_speech, pt=PT_PCMU)
    silence = kinds.add_parser("silence", help="G.711 μ-law digital silence (PT 0)")
    silence.add_argument("--ms", type=int, required=True, help="how long")
    silence.set_defaults(build=_silence, pt=PT_PCMU)
    dtmf = kinds.add_parser("dtmf", help="RFC 4733 telephone-events (PT 101)")
    dtmf.add_argument("--digits", required=True, help="keys to press, e.g. 12#")
    dtmf.add_argument("--event-ms", type=int, default=160, help="length of each key press")
    dtmf.add_argument("--gap-ms", type=int, default=200, help="pause between key presses")
    dtmf.set_defaults(build=_dtmf, pt=PT_EVENT)
    for sub in (speech, silence, dtmf):
        sub.add_argument("-o", "--output", required=True, help="pcap file to write")
        sub.add_argument("--pt", type=int, help="RTP payload type (default: 0 / 101)")
        sub.add_argument("--ssrc", type=lambda v: int(v, 0), default=0x5EED0001)
        sub.add_argument("--seq", type=int, default=1000, help="first sequence number")
        sub.add_argument("--timestamp", type=int, default=160_000, help="first RTP timestamp")
        sub.add_argument("--src", type=_address, default=("127.0.0.1", 6000), help="IP:PORT")
        sub.add_argument("--dst", type=_address, default=("127.0.0.1", 7078), help="IP:PORT")
    args = parser.parse_args(argv)
    packets = args.build(args)
    count = write_pcap(Path(args.output), packets, args.src, args.dst)
    seconds = packets[-1][0] + 0.02 if packets else 0.0
    print(f"{args.output}: {count} RTP packets, {seconds:.2f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
