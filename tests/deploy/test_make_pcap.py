"""deploy/sipp/make_pcap.py: pcaps of RTP that SIPp can play, checked field by field."""

from __future__ import annotations

import importlib.util
import math
import struct
import sys
import wave
from itertools import pairwise
from pathlib import Path
from types import ModuleType
from typing import NamedTuple

import pytest

from gateway.core.audio._audioop import audioop
from tests.conftest import REPO


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_pcap", REPO / "deploy" / "sipp" / "make_pcap.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_pcap", module)  # dataclasses look the module up by name
    spec.loader.exec_module(module)
    return module


make_pcap = _load()


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


class Packet(NamedTuple):
    time: float
    ports: tuple[int, int]
    marker: bool
    pt: int
    seq: int
    ts: int
    ssrc: int
    payload: bytes


def _read(path: Path) -> list[Packet]:
    """Each record of a pcap, its frame checked (Ethernet/IPv4/UDP), its RTP header parsed."""
    data = path.read_bytes()
    magic, major, minor, _zone, _sigfigs, snaplen, link = struct.unpack_from("<IHHiIII", data)
    assert (magic, major, minor, snaplen, link) == (0xA1B2C3D4, 2, 4, 65535, 1)
    records, at = [], 24
    while at < len(data):
        seconds, micros, caplen, length = struct.unpack_from("<IIII", data, at)
        frame = data[at + 16 : at + 16 + caplen]
        at += 16 + caplen
        assert caplen == length == len(frame)
        assert frame[12:14] == b"\x08\x00"  # IPv4
        ip, udp = frame[14:34], frame[34:]
        assert ip[0] == 0x45 and ip[9] == 17 and _checksum(ip) == 0xFFFF
        assert struct.unpack_from("!H", ip, 2)[0] == 20 + len(udp)
        sport, dport, ulen, _ = struct.unpack_from("!HHHH", udp)
        assert ulen == len(udp)
        pseudo = ip[12:20] + struct.pack("!BBH", 0, 17, ulen)
        assert _checksum(pseudo + udp) == 0xFFFF  # the UDP checksum is right
        first, second, seq, ts, ssrc = struct.unpack_from("!BBHII", udp, 8)
        assert first == 0x80  # RTP version 2, no padding, extension or CSRC
        records.append(
            Packet(
                seconds + micros / 1e6,
                (sport, dport),
                bool(second & 0x80),
                second & 0x7F,
                seq,
                ts,
                ssrc,
                udp[20:],
            )
        )
    return records


def _tone_wav(path: Path, hz: float, seconds: float, rate: int) -> None:
    samples = [
        int(8000 * math.sin(2 * math.pi * hz * n / rate)) for n in range(int(rate * seconds))
    ]
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(struct.pack(f"<{len(samples)}h", *samples))


def test_ulaw_matches_the_reference_encoder_for_every_sample() -> None:
    """The μ-law table equals audioop.lin2ulaw (the G.711 reference) for all 65536 values."""
    pcm = struct.pack("<65536h", *range(-32768, 32768))
    assert make_pcap.ulaw_encode(range(-32768, 32768)) == audioop.lin2ulaw(pcm, 2)


def test_speech_from_a_wav_is_pcmu_in_20_ms_packets(tmp_path: Path) -> None:
    """A 16 kHz WAV becomes PCMU at 8 kHz: 160-byte payloads 20 ms apart, consecutive
    sequence numbers, timestamps +160, one SSRC, marker on the first packet, the silence
    asked for before and after, and the tone still there."""
    wav, out = tmp_path / "tone.wav", tmp_path / "tone.pcap"
    _tone_wav(wav, 440, 0.5, 16000)
    assert make_pcap.main(["speech", "--wav", str(wav), "--lead-ms", "100", "--tail-ms", "200",
                           "--ssrc", "0x1234", "--seq", "65530", "-o", str(out)]) == 0  # fmt: skip
    packets = _read(out)
    assert len(packets) == 5 + 25 + 10
    assert all(p.pt == 0 and p.ssrc == 0x1234 and len(p.payload) == 160 for p in packets)
    assert [p.marker for p in packets] == [True] + [False] * 39
    assert [p.seq for p in packets] == [(65530 + i) & 0xFFFF for i in range(40)]  # wraps
    assert [p.ts for p in packets] == [160_000 + 160 * i for i in range(40)]
    times = [p.time for p in packets]
    assert all(abs(b - a - 0.02) < 1e-6 for a, b in pairwise(times))
    assert {p.ports for p in packets} == {(6000, 7078)}
    pcm = [audioop.ulaw2lin(p.payload, 2) for p in packets]
    assert all(audioop.rms(frame, 2) == 0 for frame in pcm[:5] + pcm[-10:])
    tone = b"".join(pcm[6:28])  # 0.44 s of the tone
    samples = struct.unpack(f"<{len(tone) // 2}h", tone)
    crossings = sum((a < 0) != (b < 0) for a, b in pairwise(samples))
    assert audioop.rms(tone, 2) > 4000
    assert 420 < crossings / 2 / 0.44 < 460  # still 440 Hz after resampling


def test_silence_is_digital_silence(tmp_path: Path) -> None:
    """``silence --ms 100``: five PCMU packets of 0xFF."""
    out = tmp_path / "quiet.pcap"
    assert make_pcap.main(["silence", "--ms", "100", "-o", str(out)]) == 0
    assert [p.payload for p in _read(out)] == [b"\xff" * 160] * 5


def test_dtmf_digits_are_rfc4733_events(tmp_path: Path) -> None:
    """``dtmf --digits 1#``: per key, updates every 20 ms with one timestamp, growing
    durations, the marker on the first, then the end packet three times; keys apart."""
    out = tmp_path / "keys.pcap"
    assert make_pcap.main(["dtmf", "--digits", "1#", "-o", str(out)]) == 0
    packets = _read(out)
    assert len(packets) == 2 * (8 + 2)
    assert all(p.pt == 101 for p in packets)
    assert [p.seq for p in packets] == list(range(1000, 1020))
    for key, event in enumerate((1, 11)):
        press = packets[key * 10 : key * 10 + 10]
        fields = [struct.unpack("!BBH", p.payload) for p in press]
        assert {f[0] for f in fields} == {event}
        assert [bool(f[1] & 0x80) for f in fields] == [False] * 7 + [True] * 3  # E bit
        assert {f[1] & 0x3F for f in fields} == {10}  # volume
        assert [f[2] for f in fields] == [160 * k for k in range(1, 9)] + [1280, 1280]
        assert [p.marker for p in press] == [True] + [False] * 9
        assert len({p.ts for p in press}) == 1
    assert packets[10].ts == packets[0].ts + 1280 + 1600  # 160 ms + 200 ms gap
    assert packets[10].time - packets[9].time == pytest.approx(0.22)


def test_unknown_dtmf_key_is_refused(tmp_path: Path) -> None:
    """A key that is not on a phone's keypad stops the tool with a message."""
    with pytest.raises(SystemExit, match="not a DTMF key"):
        make_pcap.main(["dtmf", "--digits", "1x", "-o", str(tmp_path / "bad.pcap")])
