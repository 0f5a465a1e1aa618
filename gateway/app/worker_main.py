"""``voicegw serve`` as a supervisor (``--workers N``) or as one of its workers.

The supervisor validates what every worker would (the agent graph, the port layout) before
starting any, so a bad configuration is one clear error instead of N crash loops. A worker
binds ``worker=<i>`` into every log line and asks the kernel to SIGTERM it if the supervisor
dies (``PR_SET_PDEATHSIG``), so no orphan keeps a SIP port.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import os
import signal
import sys

import structlog

from gateway.app.agents import build_agent_graph
from gateway.app.config import load_graph_file
from gateway.app.gateway import GatewaySettings
from gateway.app.supervisor_http import SupervisorServer
from gateway.app.worker_calls import SUPERVISOR_PID_ENV
from gateway.errors import GatewayError

__all__ = ["become_worker", "run_workers"]

_PR_SET_PDEATHSIG = 1


def become_worker(index: int) -> None:
    """This process is worker ``index``: tag its logs, and die with its supervisor.

    The supervisor's pid comes from ``VOICEGW_SUPERVISOR_PID`` (set when it started us), not
    from ``getppid()`` now: a supervisor that died while this process was starting up has
    already made it an orphan, and ``getppid()`` would name init or a subreaper instead.
    """
    structlog.contextvars.bind_contextvars(worker=index)
    value = os.environ.pop(SUPERVISOR_PID_ENV, "")
    supervisor = int(value) if value.isdigit() else os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the service manager stops orphans instead
        return
    if os.getppid() != supervisor:  # the supervisor died before prctl took effect
        structlog.get_logger().warning("worker_orphaned", supervisor_pid=supervisor)
        os.kill(os.getpid(), signal.SIGTERM)


def run_workers(settings: GatewaySettings, args: argparse.Namespace) -> int:
    """Supervise ``args.workers`` workers until SIGTERM/SIGINT; ConfigError before starting."""
    build_agent_graph(load_graph_file(settings.config).spec)
    argv = list(getattr(args, "argv", None) or sys.argv[1:])
    server = SupervisorServer(settings, args.workers, argv)
    try:
        asyncio.run(server.run_until_signalled())
    except (GatewayError, OSError) as exc:
        print(f"voicegw serve: {exc}", file=sys.stderr)
        return 1
    return 0
