"""``voicegw serve --workers N``: idle cost, a crashed worker, and a draining shutdown.

Real processes on loopback: the emulator, the supervisor and its workers, SIPp calling a
worker's SIP port directly (the Kamailio front has its own tests).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.app.loadtest_procs import get_text
from tests.e2e.rtp_tap import require_raw_sockets
from tests.scale.front import Site, make_quiet_pcap, site, wakeups_per_second

pytestmark = pytest.mark.system


@pytest.fixture
def here(tmp_path: Path) -> Iterator[Site]:
    require_raw_sockets()  # SIPp plays its RTP from a pcap through a raw socket
    with site(tmp_path) as s:
        s.start_emulator()
        yield s


def test_idle_workers_sleep(here: Site) -> None:
    """Two idle workers and their supervisor: no thread polls at frame or tick rate. Each
    worker is woken at most 10 times a second over all its threads (about 2: pjsua's 1000 ms
    poll and the event-loop lag probe), the supervisor at most 5; a 10 ms poll loop wakes 100
    times. Their CPU, whose cost per wake-up depends on the host, is bench/workers_idle.py's."""
    workers = here.start_workers(2)
    time.sleep(1.0)  # let start-up work finish
    pids = [p for p in workers.pids() if p is not None]
    supervisor = workers.proc.popen.pid
    rates = wakeups_per_second([*pids, supervisor], 6.0)
    assert len(pids) == 2
    assert all(rates[pid] <= 10 for pid in pids), rates
    assert rates[supervisor] <= 5, rates


def test_a_crashed_worker_is_restarted_and_its_calls_recorded_as_failed(here: Site) -> None:
    """SIGKILL a worker with two calls: both get 'failed' CDRs naming the crash, the worker
    comes back on the same port, the metrics count the restart, and it takes calls again."""
    workers = here.start_workers(2)
    pcap = make_quiet_pcap(here.workdir, 30)
    target = workers.sip_port  # worker 0
    sipp = here.sipp(
        "sipp-two", target, "-key", "pcap", str(pcap), "-d", "20000", "-m", "2", "-l", "2"
    )
    wait = time.monotonic() + 15
    while workers.active()[:1] != [2] and time.monotonic() < wait:
        time.sleep(0.2)
    assert workers.active()[0] == 2
    victim = workers.pids()[0]
    assert victim is not None
    import os

    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        state = workers.readyz()["workers"][0]
        if state["pid"] not in (None, victim) and state["ready"]:
            break
        time.sleep(0.2)
    state = workers.readyz()["workers"][0]
    assert state["pid"] != victim and state["ready"] and state["restarts"] == 1
    failed = [c for c in here.cdrs() if c["outcome"] == "failed"]
    assert len(failed) == 2
    assert all("worker 0 exited (killed by SIGKILL)" in c["errors"][0] for c in failed)
    metrics = get_text(f"{workers.http}/metrics") or ""
    assert "voicegw_worker_restarts_total 1.0" in metrics
    assert 'voicegw_calls_total{outcome="failed"} 2.0' in metrics
    sipp.proc.stop(2)  # its two calls are gone with the worker
    again = here.sipp("sipp-again", target, "-key", "pcap", str(pcap), "-d", "1000", "-m", "1")
    assert again.wait(30) == 0
    assert [c["outcome"] for c in here.wait_cdrs(3)].count("caller_hangup") == 1


def test_sigterm_drains_live_calls_and_exits_cleanly(here: Site) -> None:
    """SIGTERM with a call up: readiness drops, the call is ended politely after the drain
    deadline (not failed), and the supervisor exits 0."""
    workers = here.start_workers(2)
    pcap = make_quiet_pcap(here.workdir, 60)
    here.sipp(
        "sipp-long", workers.sip_port + 1, "-key", "pcap", str(pcap), "-d", "50000", "-m", "1"
    )
    wait = time.monotonic() + 15
    while sum(workers.active()) < 1 and time.monotonic() < wait:
        time.sleep(0.2)
    assert sum(workers.active()) == 1
    workers.proc.popen.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert workers.readyz().get("ready") is False
    assert workers.proc.popen.wait(40) == 0
    outcomes = [c["outcome"] for c in here.cdrs()]
    assert outcomes == ["ended_by_gateway"]
    assert "supervisor_stopped" in workers.proc.text()
