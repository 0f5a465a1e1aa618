"""``voicegw kamailio-config``: write the Kamailio front's kamailio.cfg and dispatcher.list.

One machine::

    voicegw kamailio-config --workers 4 --worker-port 5070 --max-calls 3 \\
        --address 203.0.113.10 --out-dir /etc/voicegw

Several machines, each running ``voicegw serve --workers 4 --sip-port 5070``, behind one
Kamailio: repeat ``--worker-address`` (the list then has 4 workers per address)::

    voicegw kamailio-config --workers 4 --worker-address 10.0.0.11 --worker-address 10.0.0.12 \\
        --address 10.0.0.10 --trusted 203.0.113.0/24 --out-dir /etc/voicegw
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from gateway.app.kamailio_config import TEMPLATE, Machine, dispatcher_list, front_config
from gateway.errors import ConfigError

__all__ = ["add_kamailio_config_command"]

EXIT_INVALID = 2


def add_kamailio_config_command(commands: Any) -> None:
    cmd = commands.add_parser(
        "kamailio-config",
        help="write the Kamailio front (kamailio.cfg, dispatcher.list) for N workers",
        description="Write kamailio.cfg and dispatcher.list for the dispatcher front of "
        "`voicegw serve --workers N` on one or several machines.",
    )
    env = os.environ.get
    cmd.add_argument(
        "--workers",
        type=int,
        default=int(env("VOICEGW_WORKERS", "0")),
        help="workers per machine (as voicegw serve --workers) [VOICEGW_WORKERS]",
    )
    cmd.add_argument(
        "--worker-port",
        type=int,
        default=5070,
        help="first worker's SIP port (voicegw serve --sip-port); worker i: +i",
    )
    cmd.add_argument(
        "--worker-address",
        action="append",
        default=None,
        help="address of a machine running the workers (repeatable; default 127.0.0.1)",
    )
    cmd.add_argument(
        "--max-calls",
        type=int,
        default=int(env("VOICEGW_MAX_CALLS", "3")),
        help="each worker's --max-calls: the most calls Kamailio sends it [VOICEGW_MAX_CALLS]",
    )
    front = cmd.add_argument_group("front")
    front.add_argument("--address", default="127.0.0.1", help="address Kamailio listens on")
    front.add_argument("--port", type=int, default=5060, help="UDP port callers send to")
    front.add_argument(
        "--trusted",
        action="append",
        default=None,
        help="source network exempt from per-source flood limits, e.g. your trunk "
        "(repeatable; default 127.0.0.0/8)",
    )
    front.add_argument("--ping-interval", type=int, default=5, help="OPTIONS probe period (s)")
    front.add_argument(
        "--worker-timeout-ms", type=int, default=1500, help="no reply this long: worker down"
    )
    front.add_argument(
        "--pike-density", type=int, default=40, help="new requests per source per 2 s"
    )
    front.add_argument("--invite-limit", type=int, default=50, help="INVITEs per second, total")
    front.add_argument("--retry-after", type=int, default=30, help="Retry-After of our 503s")
    out = cmd.add_argument_group("output")
    out.add_argument("--out-dir", default=".", help="where to write the two files")
    out.add_argument(
        "--dispatcher-list",
        default=None,
        help="path Kamailio reads the list from (default: OUT_DIR/dispatcher.list)",
    )
    out.add_argument(
        "--ctl-socket",
        default="/run/voicegw-kamailio/kamailio_ctl",
        help="kamcmd control socket",
    )
    out.add_argument("--template", default=str(TEMPLATE), help="front config template")
    cmd.set_defaults(handler=run_kamailio_config)


def run_kamailio_config(args: argparse.Namespace) -> int:
    problems = _check(args)
    if problems:
        for problem in problems:
            print(f"voicegw kamailio-config: {problem}", file=sys.stderr)
        return EXIT_INVALID
    out_dir = Path(args.out_dir)
    list_path = Path(args.dispatcher_list or out_dir / "dispatcher.list").absolute()
    machines = [
        Machine(address, args.workers, args.worker_port)
        for address in args.worker_address or ["127.0.0.1"]
    ]
    values = {
        "FRONT_ADDRESS": args.address,
        "FRONT_PORT": str(args.port),
        "DISPATCHER_LIST": str(list_path),
        "CTL_SOCKET": args.ctl_socket,
        "PING_INTERVAL": str(args.ping_interval),
        "WORKER_TIMEOUT_MS": str(args.worker_timeout_ms),
        "MAX_TRIES": str(min(4, sum(m.workers for m in machines))),
        "TRUSTED_NETS": ",".join(args.trusted or ["127.0.0.0/8"]),
        "PIKE_DENSITY": str(args.pike_density),
        "INVITE_LIMIT": str(args.invite_limit),
        "RETRY_AFTER": str(args.retry_after),
    }
    try:
        config = front_config(Path(args.template).read_text(encoding="utf-8"), values)
    except OSError as exc:
        print(f"voicegw kamailio-config: cannot read the template: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except ConfigError as exc:
        for issue in exc.issues:
            print(issue, file=sys.stderr)
        return EXIT_INVALID
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "kamailio.cfg").write_text(config, encoding="utf-8")
    list_path.parent.mkdir(parents=True, exist_ok=True)
    list_path.write_text(dispatcher_list(machines, args.max_calls), encoding="utf-8")
    total = sum(m.workers for m in machines)
    print(f"wrote {out_dir / 'kamailio.cfg'} and {list_path}: {total} workers", file=sys.stderr)
    return 0


def _check(args: argparse.Namespace) -> list[str]:
    problems = []
    if args.workers < 1:
        problems.append("--workers must be at least 1 (or set VOICEGW_WORKERS)")
    if not 1 <= args.max_calls <= 4:
        problems.append("--max-calls must be 1..4 (as voicegw serve)")
    for name in ("port", "worker_port"):
        if not 1 <= getattr(args, name) <= 65535:
            problems.append(f"--{name.replace('_', '-')} must be a port number")
    if args.worker_port + max(args.workers, 1) - 1 > 65535:
        problems.append("the workers' ports would go past 65535")
    return problems
