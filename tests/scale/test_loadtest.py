"""``voicegw loadtest``, small: 6 concurrent calls replaced every 8 s for 24 s, one worker
killed mid-run. The full 100-call run is a benchmark (bench/load.py)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.e2e.harness import REPO, VOICEGW
from tests.e2e.rtp_tap import require_raw_sockets

pytestmark = pytest.mark.system


def test_small_load_run_with_a_worker_killed(tmp_path: Path) -> None:
    """Every call succeeds except the killed worker's, which are recorded as failed; new
    calls keep being answered; the report has CPU, RSS, latency per direction, barge-in to
    silence and frame counts, and the gateway kept its latency and drop targets."""
    for tool in ("sipp", "kamailio", "kamcmd"):
        require_tool(tool)
    require_raw_sockets()
    done = subprocess.run(
        [
            VOICEGW, "loadtest", "--calls", "6", "--duration", "24", "--call-s", "8",
            "--kill-worker-s", "12", "--workdir", str(tmp_path), "--json",
        ],
        capture_output=True, text=True, timeout=150, cwd=REPO, check=False,
    )  # fmt: skip
    assert done.stdout.startswith("{"), done.stderr[-3000:]
    report = json.loads(done.stdout)
    killed = report["killed"]
    lost = killed["live_calls"]
    assert 1 <= lost <= 3
    assert killed["recorded_failed"] == lost
    assert killed["answered_after_kill"] >= 3
    assert report["failed"] == lost, report
    assert report["succeeded"] == report["placed"] - lost
    assert report["outcomes"]["failed"] == lost
    assert report["sip_codes"] == {"200": report["placed"]}
    assert report["per_call_cpu_pct"] > 0 and len(report["rss_mb"]) == 2
    assert all(rss > 10 for rss in report["rss_mb"])
    latency = report["latency_ms"]
    assert latency["uplink"]["count"] > 1000 and latency["downlink"]["count"] > 1000
    assert latency["uplink"]["p99"] <= 20 and latency["downlink"]["p99"] <= 20
    assert latency["cut_to_silence"]["p99"] <= 40
    frames = report["frames"]
    assert frames["barge_ins"] >= 6
    assert frames["dropped_in"] == frames["dropped_out"] == 0
