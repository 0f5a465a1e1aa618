"""The ``voicegw`` command line."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from gateway import __version__
from gateway.app.cli_call import add_call_command
from gateway.app.cli_kamailio import add_kamailio_config_command
from gateway.app.cli_loadtest import add_loadtest_command
from gateway.app.cli_openai_sip import add_openai_sip_command
from gateway.app.cli_serve import add_serve_command
from gateway.app.config import load_graph_file
from gateway.app.demo import add_demo_command
from gateway.app.graph_report import describe_graph
from gateway.emulator.cli import add_emulator_command
from gateway.errors import ConfigError
from gateway.observability.logging import configure_logging

__all__ = ["main"]

EXIT_OK = 0
EXIT_INVALID = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voicegw", description="SIP gateway for OpenAI Realtime voice agents."
    )
    parser.add_argument("--version", action="version", version=f"voicegw {__version__}")
    parser.add_argument(
        "--log-format",
        choices=("auto", "json", "console"),
        default="auto",
        help="log rendering (default: console on a TTY, JSON lines otherwise)",
    )
    parser.add_argument(
        "--log-level",
        default=os.environ.get("VOICEGW_LOG_LEVEL", "info"),
        help="debug, info, warning, error [VOICEGW_LOG_LEVEL]",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser("check", help="validate agent-graph files and print each graph")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.add_argument(
        "--no-imports",
        action="store_true",
        help="do not import the Python tools and guardrails the graph names",
    )
    check.set_defaults(handler=_cmd_check)
    add_serve_command(commands)
    add_openai_sip_command(commands)
    add_call_command(commands)
    add_demo_command(commands)
    add_emulator_command(commands)
    add_kamailio_config_command(commands)
    add_loadtest_command(commands)
    return parser


def _cmd_check(args: argparse.Namespace) -> int:
    status = EXIT_OK
    for path in args.files:
        try:
            loaded = load_graph_file(path, resolve_imports=not args.no_imports)
        except ConfigError as exc:
            status = EXIT_INVALID
            for issue in exc.issues:
                print(issue, file=sys.stderr)
            continue
        print(describe_graph(loaded.spec, path))
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``voicegw`` console script."""
    args = _parser().parse_args(argv)
    args.argv = list(argv) if argv is not None else sys.argv[1:]  # serve --workers re-runs it
    configure_logging(args.log_format, args.log_level)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
