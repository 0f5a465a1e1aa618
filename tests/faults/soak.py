"""Sequential short calls against one gateway, with its file descriptors, threads and memory
read from ``/proc/<pid>`` between batches (the soak test and ``bench/soak.py``).

Each call is SIPp's ``uac_pcmu.xml``: INVITE, 200, ACK, a short PCMU pcap of silence towards
the gateway (the uplink path runs) while the agent's greeting comes back, BYE. Calls run one at
a time (``-l 1``), back to back. After each batch the gateway is let go idle (no live call, the
retired pjsua objects buried) before its figures are read.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.e2e.harness import Stack, make_pcap, wait_for

GRAPH = """
name: soak
session: {audio_format: audio/pcmu}
phone: {greeting: "Hello, this is the test line."}
agents: [{name: desk, instructions: "Desk."}]
routes: {default: desk}
"""
SCENARIO = 'caller_transcripts: ["hello"]\nfallback: "Hi there."\n'
HOLD_MS = 300
"""How long each call stays up after the ACK."""


@dataclass(frozen=True, slots=True)
class Sample:
    calls: int
    """Calls completed when the sample was taken."""
    fds: int
    threads: int
    rss_kb: int
    at_s: float


@dataclass
class Soak:
    samples: list[Sample] = field(default_factory=list)
    failed_calls: int = 0

    @property
    def baseline(self) -> Sample:
        """After the warm-up batch."""
        return self.samples[0]

    @property
    def final(self) -> Sample:
        return self.samples[-1]

    def growth(self) -> tuple[int, int, int]:
        """(fds, threads, RSS kB) from the baseline to the end."""
        a, b = self.baseline, self.final
        return b.fds - a.fds, b.threads - a.threads, b.rss_kb - a.rss_kb


def read_proc(pid: int, calls: int, started: float) -> Sample:
    """Open file descriptors, threads and resident memory of process ``pid``, from /proc."""
    status = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return Sample(
        calls=calls,
        fds=len(os.listdir(f"/proc/{pid}/fd")),
        threads=int(status["Threads"]),
        rss_kb=int(status["VmRSS"].split()[0]),
        at_s=round(time.monotonic() - started, 1),
    )


def start(s: Stack) -> int:
    """Emulator and gateway for the soak; the gateway's pid."""
    s.start_emulator(SCENARIO)
    return s.start_gateway(GRAPH).popen.pid


def soak(s: Stack, pid: int, *, warmup: int, batches: list[int]) -> Soak:
    """``warmup`` calls, a baseline sample, then one sample after each batch of calls."""
    pcap = str(make_pcap(s.workdir, "quiet.pcap", "silence", "--ms", str(HOLD_MS)))
    result = Soak()
    started, done = time.monotonic(), 0
    for index, count in enumerate([warmup, *batches]):
        sipp = s.sipp_call(
            "uac_pcmu.xml", "-key", "pcap", pcap, "-d", str(HOLD_MS), "-l", "1", "-r", "100",
            calls=count, timeout=60 + count,
        )  # fmt: skip
        result.failed_calls += sipp.stat("FailedCall(C)")
        done += count
        _settle(s, done)
        if index == 0 or batches:
            result.samples.append(read_proc(pid, done, started))
    return result


def _settle(s: Stack, calls: int) -> None:
    """Every call of the batch ended and recorded, and the gateway idle for a moment."""
    s.wait_cdrs(calls, timeout=30)
    wait_for(lambda: (s.ready() or {}).get("active_calls") == 0, 10, "no live call")
    time.sleep(0.5)  # retired pjsua objects are buried >= 100 ms later, on the poll thread
