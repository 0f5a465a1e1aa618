"""The issue's load targets, measured: ``voicegw loadtest`` at the full target and below it.

Run: ``.venv/bin/python bench/load.py`` (needs SIPp, Kamailio and root: SIPp plays RTP from a
pcap through a raw socket). Everything runs on this machine: SIPp, Kamailio, the supervisor
and its workers, and the emulator answering as the model. Three parts:

1. **the full target**: 100 concurrent calls for 60 s, with the bare-pjsua2 baseline
   (the same SIPp load against processes that only answer and play a tone);
2. **a sweep** (15, 30, 45, 60 calls, each with its baseline) to show where the machine
   saturates and what a call costs below that;
3. **a worker killed** mid-run (30 calls, each 15 s, replaced as they end; the busiest
   worker SIGKILLed at 30 s): only its calls are lost, and recorded.

Each run prints its report (``voicegw loadtest``'s text); a summary table comes last.
``--quick`` runs only the sweep at 15 and 30 calls.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
VOICEGW = [sys.executable, "-m", "gateway.app.cli"]


def loadtest(workdir: Path, *args: str) -> dict[str, Any]:
    """One ``voicegw loadtest`` run; its JSON report (its text report is printed too)."""
    base = [*VOICEGW, "loadtest", "--workdir", str(workdir), *args]
    done = subprocess.run([*base, "--json"], capture_output=True, text=True, cwd=REPO, check=False)
    if not done.stdout.startswith("{"):
        print(done.stderr[-3000:])
        raise SystemExit(f"loadtest {' '.join(args)} failed")
    report: dict[str, Any] = json.loads(done.stdout)
    sys.path.insert(0, str(REPO))
    from gateway.app.loadtest_report import LoadReport

    fields = {k: v for k, v in report.items() if k not in ("success_rate", "bare_ratio")}
    fields["sip_codes"] = {int(k): v for k, v in fields["sip_codes"].items()}
    print(LoadReport(**fields).render(), "\n", flush=True)
    return report


def _row(name: str, r: dict[str, Any]) -> str:
    lat = r["latency_ms"]
    bare = r["bare_per_call_cpu_pct"]
    ratio = f"{r['bare_ratio']:.2f}x" if r["bare_ratio"] else "-"
    dropped = int(r["frames"].get("dropped_in", 0) + r["frames"].get("dropped_out", 0))
    return (
        f"{name:22} {r['succeeded']:>4}/{r['placed']:<4} {r['per_call_cpu_pct']:6.2f} "
        f"{(f'{bare:.2f}' if bare else '-'):>6} {ratio:>6} {r['machine_busy_pct']:5.0f} "
        f"{lat['uplink']['p50']!s:>5}/{lat['uplink']['p99']!s:<6} "
        f"{lat['downlink']['p50']!s:>5}/{lat['downlink']['p99']!s:<6} "
        f"{lat['cut_to_silence']['p99']!s:>6} {dropped:>7} {int(r['frames'].get('late', 0)):>5}"
    )


def _missing() -> str:
    for tool in ("sipp", "kamailio", "kamcmd"):
        if shutil.which(tool) is None and not Path("/usr/sbin", tool).exists():
            return f"needs {tool} (make system-deps)"
    try:
        socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP).close()
    except PermissionError:
        return "SIPp plays pcaps through a raw socket: run as root or with CAP_NET_RAW"
    return ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="only 15 and 30 calls")
    parser.add_argument("--keep", action="store_true", help="keep the runs' directories")
    args = parser.parse_args()
    missing = _missing()
    if missing:
        print(f"bench/load.py skipped: {missing}")
        return 0
    root = Path(tempfile.mkdtemp(prefix="voicegw-bench-load-"))
    rows: list[tuple[str, dict[str, Any]]] = []
    try:
        if not args.quick:
            rows.append(("100 calls (target)", loadtest(root / "full", "--calls", "100",
                         "--duration", "60", "--baseline")))  # fmt: skip
        for calls in (15, 30) if args.quick else (15, 30, 45, 60):
            rows.append((f"{calls} calls", loadtest(root / f"sweep-{calls}", "--calls",
                         str(calls), "--duration", "60", "--baseline")))  # fmt: skip
        if not args.quick:
            killed = loadtest(
                root / "kill", "--calls", "30", "--duration", "60", "--call-s", "15",
                "--kill-worker-s", "30",
            )  # fmt: skip
            rows.append(("30 calls, worker killed", killed))
    finally:
        if args.keep:
            print(f"runs in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    print(
        f"{'run':22} {'ok/placed':9} {'cpu/c':>6} {'bare':>6} {'ratio':>6} {'busy':>5} "
        f"{'up p50/p99':>12} {'down p50/p99':>12} {'cut99':>6} {'dropped':>7} {'late':>5}"
    )
    for name, report in rows:
        print(_row(name, report))
    print("cpu/c, bare: % of a core per call (workers only); busy: % of the whole machine;")
    print("latencies in ms, bucket upper bounds; cut99: barge-in to silence, p99")
    for name, report in rows:
        if report.get("killed"):
            print(f"{name}: {json.dumps(report['killed'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
