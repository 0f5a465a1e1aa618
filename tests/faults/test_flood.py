"""An INVITE flood at a full gateway: every INVITE is refused (the gateway's 503 + Retry-After,
or pjsua's own 486 when all four of its call slots are taken at that instant), none is
answered, each leaves a record, and the calls already up keep a clean audio stream: no lost
packet, no gap, 50 packets a second, measured on the wire with an RTP tap."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.e2e.harness import Stack, free_port, make_pcap, stack, wait_for
from tests.e2e.rtp_tap import RtpPacket, require_raw_sockets, rtp_tap

pytestmark = pytest.mark.system

GRAPH = """
name: flood
session: {audio_format: audio/pcmu}
phone: {greeting: "Hello, this is the test line. We are here to help you today."}
agents: [{name: desk, instructions: "Desk."}]
routes: {default: desk}
"""
SCENARIO = 'caller_transcripts: ["hello"]\nfallback: "Hi there."\n'

FLOOD_CALLS = 600
FLOOD_RATE = 200
"""INVITEs per second: 200 times what a 3-call gateway could ever take."""


@pytest.fixture
def calls(tmp_path: Path) -> Iterator[Stack]:
    require_tool("sipp")
    require_raw_sockets()  # SIPp plays pcaps from a raw socket; the RTP tap is one too
    with stack(tmp_path) as s:
        yield s


def _streams(packets: list[RtpPacket]) -> dict[int, list[RtpPacket]]:
    """The gateway's RTP streams (one per call, by its source port)."""
    out: dict[int, list[RtpPacket]] = {}
    for packet in packets:
        out.setdefault(packet.src_port, []).append(packet)
    return out


def _continuity(packets: list[RtpPacket]) -> tuple[int, float, float]:
    """Lost packets (sequence gaps), the longest silence on the wire (s), packets per second."""
    lost = sum((b.seq - a.seq - 1) % 65536 for a, b in pairwise(packets))
    gap = max(b.at - a.at for a, b in pairwise(packets))
    rate = (len(packets) - 1) / (packets[-1].at - packets[0].at)
    return lost, gap, rate


def test_flood_is_refused_and_live_calls_keep_clean_audio(calls: Stack) -> None:
    """Three calls up (--max-calls 3), then 600 INVITEs at 200/s: each is refused with 503 and
    a Retry-After, or 486 from pjsua; no 200. The live calls' RTP during the flood has no lost
    packet, no gap over 100 ms and 50 +-2 packets/s, and they end normally. Records: one per
    refused INVITE (refused_capacity for the 503s, refused_sip_stack for the 486s) and one per
    live call."""
    calls.start_emulator(SCENARIO)
    gateway = calls.start_gateway(GRAPH, "--max-calls", "3", "--retry-after", "9")
    quiet = str(make_pcap(calls.workdir, "quiet.pcap", "silence", "--ms", "9000"))
    media_port = free_port()
    with rtp_tap(media_port) as tap:
        live = calls.start_sipp(
            "sipp-live", "uac_capacity.xml", "-s", "100", "-key", "pcap", quiet,
            "-m", "3", "-l", "3", "-r", "10", "-d", "9000", media_port=media_port,
        )  # fmt: skip
        wait_for(lambda: (calls.ready() or {}).get("active_calls") == 3, 10, "three live calls")
        time.sleep(0.5)
        flood_from = time.monotonic()
        flood = calls.start_sipp(
            "sipp-flood", "uac_flood.xml", "-s", "100", "-m", str(FLOOD_CALLS),
            "-r", str(FLOOD_RATE), "-rp", "1000",
        )  # fmt: skip
        assert flood.wait(30) == 0, flood.file("errors").read_text()[-2000:]
        flood_to = time.monotonic()
        assert live.wait(30) == 0, live.file("errors").read_text()[-2000:]

    assert flood.stat("SuccessfulCall(C)") == FLOOD_CALLS and flood.stat("FailedCall(C)") == 0
    refusals = Counter(
        line.split(": ", 1)[1] for line in flood.logs() if line.startswith("refused ")
    )
    assert set(refusals) <= {"503 Retry-After 9", "486"} and refusals.total() == FLOOD_CALLS
    during = [p for p in tap.packets if flood_from <= p.at <= flood_to]
    streams = _streams(during)
    assert len(streams) == 3
    for port, packets in streams.items():
        lost, gap, rate = _continuity(packets)
        assert (lost, gap < 0.1, 48 <= rate <= 52) == (0, True, True), (port, lost, gap, rate)

    served = 3
    records = calls.wait_cdrs(FLOOD_CALLS + served, timeout=30)
    outcomes = Counter(r["outcome"] for r in records)
    assert outcomes == Counter(
        refused_capacity=refusals["503 Retry-After 9"],
        refused_sip_stack=refusals["486"],
        caller_hangup=served,
    )
    assert all(r["errors"] == [] for r in records)
    transcripts = list((calls.workdir / "cdr" / "transcripts").iterdir())
    assert len(transcripts) == len(records)
    assert gateway.popen.poll() is None
