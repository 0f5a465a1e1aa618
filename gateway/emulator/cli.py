"""``voicegw emulator``: run the offline Realtime API until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import TYPE_CHECKING, Any

from gateway.emulator.cli_sip import add_sip_front_arguments, front_from_args
from gateway.emulator.faults import ErrorInjection, Faults
from gateway.emulator.recognizer import recognizer_for
from gateway.emulator.response import Pace
from gateway.emulator.scenario import Scenario, load_scenario
from gateway.emulator.server import EmulatorServer
from gateway.errors import ConfigError

if TYPE_CHECKING:
    from gateway.emulator.sip_front import SipFront

__all__ = ["add_emulator_command", "run_emulator", "server_from_args"]

EXIT_OK = 0
EXIT_INVALID = 2


def add_emulator_command(commands: Any) -> None:
    """Register the ``emulator`` subcommand on the ``voicegw`` subparsers."""
    cmd = commands.add_parser(
        "emulator",
        help="run the offline OpenAI Realtime API emulator",
        description="Serve ws://HOST:PORT/v1/realtime, speaking the Realtime GA protocol.",
    )
    cmd.add_argument("--host", default="127.0.0.1")
    cmd.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    cmd.add_argument("--scenario", metavar="FILE", help="scenario YAML (default: built-in)")
    cmd.add_argument("--max-session-s", type=float, default=3600.0, help="session cap")
    cmd.add_argument("--seed", type=int, help="make ids reproducible")
    cmd.add_argument(
        "--ws-compression",
        choices=("deflate", "none"),
        default="deflate",
        help="accept a client's permessage-deflate offer (default) or decline it",
    )
    speech = cmd.add_argument_group("speech (override the scenario's)")
    speech.add_argument("--voice", choices=("synthetic", "tones", "espeak"), help="how it speaks")
    speech.add_argument(
        "--recognizer",
        choices=("scripted", "pocketsphinx"),
        help="how it hears: scripted caller_transcripts, or pocketsphinx on the phrases",
    )
    pace = cmd.add_argument_group("pace (audio is produced faster than real time)")
    pace.add_argument("--chunk-ms", type=int, default=200, help="audio per delta")
    pace.add_argument("--gap-ms", type=int, default=20, help="wait between deltas")
    pace.add_argument("--latency-ms", type=int, default=200, help="wait before first output")
    faults = cmd.add_argument_group("faults (override the scenario's)")
    faults.add_argument("--drop-after-s", type=float, help="abort each connection after S s")
    faults.add_argument("--response-delay-ms", type=int, help="delay every response's output")
    faults.add_argument(
        "--error-after-s", type=float, action="append", help="send an error event (repeatable)"
    )
    faults.add_argument("--error-code", default="server_error", help="code of those errors")
    faults.add_argument("--refuse", type=int, help="refuse N handshakes (-1: all)")
    faults.add_argument("--refuse-status", type=int, help="HTTP status of refusals (503)")
    faults.add_argument("--stall-after-ms", type=int, help="stop audio after N ms per response")
    faults.add_argument("--stall-for-ms", type=int, help="... for this long (default: forever)")
    add_sip_front_arguments(cmd)
    cmd.set_defaults(handler=run_emulator)


def run_emulator(args: argparse.Namespace) -> int:
    """Handler of ``voicegw emulator``: serve until SIGINT or SIGTERM."""
    try:
        server = server_from_args(args)
        front = front_from_args(args, server)
    except ConfigError as exc:
        for issue in exc.issues:
            print(issue, file=sys.stderr)
        return EXIT_INVALID
    if server.scenario.recognizer == "pocketsphinx":
        _load_recognizer(server.scenario)
    asyncio.run(_serve(server, front))
    return EXIT_OK


def _load_recognizer(scenario: Scenario) -> None:
    """Load the model before the first call, and say which phrase words it cannot hear."""
    recognizer = recognizer_for(scenario)
    missing = sorted(getattr(recognizer, "missing_words", ()))
    if missing:
        print(f"voicegw emulator: not in the dictionary: {', '.join(missing)}", file=sys.stderr)


def server_from_args(args: argparse.Namespace) -> EmulatorServer:
    """The server the parsed ``emulator`` arguments describe (flags override the scenario)."""
    scenario = load_scenario(args.scenario) if args.scenario else Scenario()
    speech = {"voice": args.voice, "recognizer": args.recognizer}
    scenario = scenario.model_copy(update={k: v for k, v in speech.items() if v is not None})
    return EmulatorServer(
        scenario,
        host=args.host,
        port=args.port,
        pace=Pace(chunk_ms=args.chunk_ms, gap_ms=args.gap_ms, latency_ms=args.latency_ms),
        faults=_faults(scenario.faults, args),
        max_session_s=args.max_session_s,
        seed=args.seed,
        compression="deflate" if args.ws_compression == "deflate" else None,
    )


def _faults(base: Faults, args: argparse.Namespace) -> Faults:
    flags = {
        "drop_after_s": args.drop_after_s,
        "response_delay_ms": args.response_delay_ms,
        "refuse_connections": args.refuse,
        "refuse_status": args.refuse_status,
        "stall_after_ms": args.stall_after_ms,
        "stall_for_ms": args.stall_for_ms,
    }
    given: dict[str, Any] = {k: v for k, v in flags.items() if v is not None}
    if args.error_after_s:
        given["errors"] = tuple(
            ErrorInjection(after_s=s, code=args.error_code) for s in args.error_after_s
        )
    return base.model_copy(update=given)


async def _serve(server: EmulatorServer, front: SipFront | None = None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        if front is not None:
            await front.start()
        print(f"voicegw emulator listening on {server.url}", flush=True)
        if front is not None:
            host = front.settings.rest_host
            project = front.settings.project_id
            print(
                f"calls API {front.rest_url}; SIP sip:{project}@{host}:{front.sip_port}", flush=True
            )
        try:
            await stop.wait()
        finally:
            if front is not None:
                await front.stop()
