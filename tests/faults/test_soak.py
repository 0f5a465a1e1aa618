"""Soak: sequential short calls through one gateway leave its file descriptors, threads and
memory where they were (read from /proc/<pid>). Marked ``slow``: it runs in the normal suite at
a reduced count (``VOICEGW_SOAK_CALLS``, default 40); ``bench/soak.py`` runs the full 1,000 and
reports the figures (README, Benchmarks)."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.e2e.harness import stack
from tests.e2e.rtp_tap import require_raw_sockets
from tests.faults.soak import soak, start

pytestmark = [pytest.mark.system, pytest.mark.slow]

CALLS = int(os.environ.get("VOICEGW_SOAK_CALLS", "40"))
WARMUP = 20
RSS_BOUND_KB = 3 * 1024
"""Growth allowed over the reduced run: the first ~200 calls fill bounded structures (the
200 most recent CDRs kept for ``/calls``, pjsip's pool cache) at ~35 kB a call; a leaked call
(its handler, buffers and session) costs far more than the rest of the bound."""


def test_sequential_calls_leak_no_descriptors_threads_or_memory(tmp_path: Path) -> None:
    """After a warm-up, CALLS more calls (in two batches, one at a time): every call succeeds
    and is recorded, the gateway's open file descriptors and threads are exactly as before,
    and its resident memory grew by less than RSS_BOUND_KB (scaled for more calls)."""
    require_tool("sipp")
    require_raw_sockets()  # SIPp plays its RTP from a pcap through a raw socket
    half = CALLS // 2
    with stack(tmp_path) as s:
        pid = start(s)
        result = soak(s, pid, warmup=WARMUP, batches=[half, CALLS - half])
        records = s.cdrs()
    assert result.failed_calls == 0
    assert len(records) == WARMUP + CALLS
    assert Counter(r["outcome"] for r in records) == {"caller_hangup": WARMUP + CALLS}
    fds, threads, rss_kb = result.growth()
    assert (fds, threads) == (0, 0), result.samples
    assert rss_kb <= RSS_BOUND_KB * max(1.0, CALLS / 40), result.samples
