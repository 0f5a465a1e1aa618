"""The Kamailio front (deploy/kamailio/front.cfg) over real gateway workers, on loopback.

Kamailio from Debian's package, the list written by the same code as ``voicegw
kamailio-config``, SIPp as the callers.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.app.kamailio_config import Machine
from tests.e2e.harness import wait_for
from tests.e2e.rtp_tap import require_raw_sockets, rtp_tap
from tests.scale.front import Site, make_quiet_pcap, site

pytestmark = pytest.mark.system


@pytest.fixture
def here(tmp_path: Path) -> Iterator[Site]:
    require_raw_sockets()  # SIPp plays its RTP from a pcap through a raw socket
    with site(tmp_path) as s:
        s.start_emulator()
        yield s


def _all_up(front: object, count: int) -> None:
    from tests.scale.front import Front

    assert isinstance(front, Front)
    wait_for(
        lambda: [d["FLAGS"] for d in front.destinations()].count("AP") == count,
        15,
        "every worker probed up",
    )


def test_calls_spread_by_load_and_the_overflow_gets_503_from_the_front(here: Site) -> None:
    """Two workers of 3 calls, 7 callers at once: 3 calls on each worker (never more), the
    7th answered 503 + Retry-After by Kamailio itself, and every BYE passes the front (the
    calls are record-routed) and gives the slot back."""
    workers = here.start_workers(2)
    front = here.start_front([workers.machine()])
    _all_up(front, 2)
    pcap = make_quiet_pcap(here.workdir, 20)
    sipp = here.sipp(
        "sipp-seven", front.port, "-key", "pcap", str(pcap), "-d", "5000",
        "-m", "7", "-l", "7", "-r", "20",
    )  # fmt: skip
    wait_for(lambda: sum(workers.active()) == 6, 15, "six calls up")
    assert workers.active() == [3, 3]
    assert [d["DLGLOAD"] for d in front.destinations()] == ["3", "3"]
    assert sipp.wait(40) == 0
    refused = sipp.responses(503)
    assert len(refused) == 1
    assert "All Workers Busy" in refused[0] and "Retry-After: 30" in refused[0]
    answers = [a for a in sipp.responses(200) if "CSeq: 1 INVITE" in a]
    assert len(answers) == 6
    assert all(f"Record-Route: <sip:127.0.0.1:{front.port};lr" in a for a in answers)
    outcomes = [c["outcome"] for c in here.wait_cdrs(6)]
    assert outcomes == ["caller_hangup"] * 6  # the 7th never reached a worker
    wait_for(lambda: [d["DLGLOAD"] for d in front.destinations()] == ["0", "0"], 5, "slots free")


def test_a_silent_worker_is_skipped_and_marked_down(here: Site) -> None:
    """A listed worker that does not answer (nothing on its port): the INVITE fails over to
    a live one after the worker timeout, the silent one is marked down, and no call slot is
    left taken on either."""
    workers = here.start_workers(1)
    dead = Machine("127.0.0.1", 1, workers.sip_port + 7)  # nothing listens there
    front = here.start_front([workers.machine(), dead], WORKER_TIMEOUT_MS="800")
    wait_for(lambda: len(front.destinations()) == 2, 10, "two destinations")
    front.rpc("dispatcher.ping_active", "0")  # keep the silent one "up" until a call finds out
    front.rpc("dispatcher.set_state", "a", "1", f"sip:127.0.0.1:{workers.sip_port + 7}")
    pcap = make_quiet_pcap(here.workdir, 20)
    sipp = here.sipp(
        "sipp-two", front.port, "-key", "pcap", str(pcap), "-d", "2000", "-m", "2", "-l", "2"
    )
    assert sipp.wait(40) == 0
    assert [c["outcome"] for c in here.wait_cdrs(2)] == ["caller_hangup"] * 2
    assert "did not answer: marked down" in front.log()
    states = {d["URI"]: (d["FLAGS"][0], d["DLGLOAD"]) for d in front.destinations()}
    assert states[f"sip:127.0.0.1:{workers.sip_port + 7}"] == ("I", "0")
    assert states[f"sip:127.0.0.1:{workers.sip_port}"] == ("A", "0")


def test_a_worker_answering_503_fails_over_to_one_with_room(here: Site) -> None:
    """Kamailio believes both workers take 3 calls, but one only takes 1: its 503 for the
    next call sends that call on to the other worker, so all four calls are answered."""
    small = here.start_gateway("gw-small", "--max-calls", "1")
    large = here.start_gateway("gw-large", "--max-calls", "3")
    machines = [Machine("127.0.0.1", 1, small), Machine("127.0.0.1", 1, large)]
    front = here.start_front(machines)
    _all_up(front, 2)
    pcap = make_quiet_pcap(here.workdir, 20)
    sipp = here.sipp(
        "sipp-four", front.port, "-key", "pcap", str(pcap), "-d", "4000",
        "-m", "4", "-l", "4", "-r", "4",
    )  # fmt: skip
    assert sipp.wait(40) == 0
    assert sipp.responses(503) == []
    outcomes = sorted(c["outcome"] for c in here.wait_cdrs(5))
    assert outcomes == ["caller_hangup"] * 4 + ["refused_capacity"]  # the small one's 503


def test_a_flood_gets_limits_while_established_calls_keep_clean_audio(here: Site) -> None:
    """Six calls fill both workers; then 600 INVITEs in 4 s from another address. The flood
    gets 503s from the front and is then dropped (pike); no flood INVITE reaches a worker; the
    six calls' audio keeps flowing every 20 ms and no frame is lost."""
    workers = here.start_workers(2)
    front = here.start_front([workers.machine()], TRUSTED_NETS="127.0.0.1/32")
    _all_up(front, 2)
    pcap = make_quiet_pcap(here.workdir, 25)
    calls = here.sipp(
        "sipp-calls", front.port, "-key", "pcap", str(pcap), "-d", "14000",
        "-m", "6", "-l", "6", "-r", "20",
    )  # fmt: skip
    wait_for(lambda: sum(workers.active()) == 6, 15, "six calls up")
    with rtp_tap(calls.media_port) as tap:
        time.sleep(1.0)
        start = time.monotonic()
        flood = here.sipp(
            "sipp-flood", front.port, "-key", "pcap", str(pcap), "-d", "1000",
            "-m", "600", "-l", "600", "-r", "150", "-recv_timeout", "2000",
            "-max_invite_retrans", "2", address="127.0.0.2",
        )  # fmt: skip
        flood.wait(30)
        end = time.monotonic()
    assert calls.wait(40) == 0
    assert flood.responses(200) == []
    assert len(flood.responses(503)) >= 1
    assert "PIKE - BLOCKing ip 127.0.0.2" in front.log()
    assert [c["outcome"] for c in here.wait_cdrs(6)] == ["caller_hangup"] * 6
    for cdr in here.cdrs():
        counters = cdr["counters"]
        assert counters["frames_in_dropped"] == counters["frames_out_dropped"] == 0
    by_source: dict[int, list[float]] = {}
    for packet in tap.between(start, end):
        by_source.setdefault(packet.src_port, []).append(packet.at)
    assert len(by_source) == 6
    for times in by_source.values():
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert len(times) >= (end - start) / 0.02 * 0.9
        assert max(gaps) < 0.1, max(gaps)
