"""``voicegw loadtest``: SIPp calls through Kamailio and the workers to the emulator, measured.

Needs SIPp and Kamailio (Debian ``sip-tester``, ``kamailio``) and root or ``CAP_NET_RAW``
(SIPp plays RTP from a pcap through a raw socket). Example, the issue's full target::

    voicegw loadtest --calls 100 --duration 60 --baseline

Exit status: 0 when every call succeeded, 1 otherwise, 2 for a bad command line.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from gateway.app.loadtest import LoadOptions, run_load

__all__ = ["add_loadtest_command"]


def add_loadtest_command(commands: Any) -> None:
    cmd = commands.add_parser(
        "loadtest",
        help="load-test the gateway: SIPp -> Kamailio -> workers -> emulator, measured",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    cmd.add_argument("--calls", type=int, default=6, help="concurrent calls")
    cmd.add_argument("--duration", type=float, default=20.0, help="seconds of load")
    cmd.add_argument(
        "--call-s", type=float, default=None, help="length of each call (default: --duration)"
    )
    cmd.add_argument("--workers", type=int, default=None, help="default: calls / max-calls")
    cmd.add_argument("--max-calls", type=int, default=3, help="calls per worker")
    cmd.add_argument("--rate", type=float, default=10.0, help="new calls per second")
    cmd.add_argument(
        "--barge-in-s", type=float, default=4.0, help="caller talks over the agent (0: never)"
    )
    cmd.add_argument(
        "--kill-worker-s", type=float, default=0.0, help="SIGKILL the busiest worker then"
    )
    cmd.add_argument(
        "--baseline", action="store_true", help="also run bare pjsua2 processes, for the ratio"
    )
    cmd.add_argument(
        "--load-nice",
        type=int,
        default=10,
        choices=range(20),
        metavar="0-19",
        help="niceness of the emulator and SIPp, which stand in for the model and the carrier "
        "and in production do not share the gateway's cores (0: same priority; default 10)",
    )
    cmd.add_argument("--workdir", type=Path, default=None, help="logs and traces (default: tmp)")
    cmd.add_argument("--json", action="store_true", help="print the report as JSON")
    cmd.add_argument(
        "--emulator-arg",
        action="append",
        default=[],
        help="extra argument for `voicegw emulator` (repeatable), e.g. --emulator-arg=--gap-ms=100",
    )
    cmd.set_defaults(handler=run_loadtest)


def run_loadtest(args: argparse.Namespace) -> int:
    missing = [tool for tool in ("sipp", "kamailio", "kamcmd") if not _have(tool)]
    if missing:
        print(f"voicegw loadtest: needs {', '.join(missing)} (make system-deps)", file=sys.stderr)
        return 2
    opts = LoadOptions(
        calls=args.calls,
        duration_s=args.duration,
        call_s=args.call_s,
        workers=args.workers,
        max_calls=args.max_calls,
        rate=args.rate,
        barge_in_s=args.barge_in_s,
        kill_worker_s=args.kill_worker_s,
        baseline=args.baseline,
        workdir=args.workdir,
        emulator_args=tuple(args.emulator_arg),
        load_nice=args.load_nice,
    )
    try:
        report = run_load(opts, log=lambda line: print(line, file=sys.stderr))
    except (ValueError, TimeoutError) as exc:
        print(f"voicegw loadtest: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ValueError) else 1
    print(json.dumps(report.to_json(), indent=2) if args.json else report.render())
    return 0 if report.failed == 0 and report.placed > 0 else 1


def _have(tool: str) -> bool:
    return shutil.which(tool) is not None or Path("/usr/sbin", tool).exists()
