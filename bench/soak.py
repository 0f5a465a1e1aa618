"""Soak: 1,000 sequential short calls through one ``voicegw serve``; does anything grow?

Run: ``.venv/bin/python bench/soak.py [--calls 1000] [--batch 100] [--warmup 20]`` (needs SIPp
and root or CAP_NET_RAW: SIPp plays its RTP from a pcap through a raw socket).

The offline emulator and a gateway on loopback; SIPp places the calls one at a time, back to
back (``deploy/sipp/uac_pcmu.xml``: INVITE, 200, ACK, 300 ms of PCMU towards the gateway while
the agent's greeting comes back, BYE). After the warm-up and after each batch, once the gateway
is idle, its open file descriptors, threads and resident memory are read from ``/proc/<pid>``.
The figures are printed as a table and as JSON; ``tests/faults/test_soak.py`` runs the same
code at a reduced count on every test run.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the soak driver lives with the tests that run it too

from tests.e2e.harness import stack  # noqa: E402
from tests.faults.soak import soak, start  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()
    batches = [args.batch] * (args.calls // args.batch)
    if args.calls % args.batch:
        batches.append(args.calls % args.batch)
    with tempfile.TemporaryDirectory(prefix="voicegw-soak-") as tmp, stack(Path(tmp)) as s:
        pid = start(s)
        began = time.monotonic()
        result = soak(s, pid, warmup=args.warmup, batches=batches)
        elapsed = time.monotonic() - began
        cdrs = s.cdrs()
    print(f"{'calls':>6} {'fds':>4} {'threads':>7} {'RSS kB':>8} {'time s':>7}")
    for sample in result.samples:
        print(
            f"{sample.calls:>6} {sample.fds:>4} {sample.threads:>7} {sample.rss_kb:>8} "
            f"{sample.at_s:>7}"
        )
    fds, threads, rss = result.growth()
    measured = result.final.calls - result.baseline.calls
    print(
        f"after the warm-up, over {measured} calls: fds {fds:+d}, threads {threads:+d}, "
        f"RSS {rss:+d} kB ({rss / max(measured, 1):.1f} kB per call); "
        f"{result.failed_calls} failed calls, {len(cdrs)} CDRs, {elapsed:.0f} s"
    )
    report = {
        "samples": [asdict(x) for x in result.samples],
        "growth": {"fds": fds, "threads": threads, "rss_kb": rss},
        "failed_calls": result.failed_calls,
        "cdrs": len(cdrs),
        "outcomes": sorted({c["outcome"] for c in cdrs}),
    }
    print(json.dumps(report))
    return 0 if result.failed_calls == 0 and len(cdrs) == result.final.calls else 1


if __name__ == "__main__":
    sys.exit(main())
