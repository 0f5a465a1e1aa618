"""``voicegw call URI``: place one test call and print what happened (JSON with ``--json``).

With ``--auth-user`` (password in ``VOICEGW_CALL_AUTH_PASSWORD``) it answers digest challenges,
as a PBX calling a gateway that runs ``serve --inbound-auth-user`` would.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import sys
from typing import Any

from gateway.app.caller import CallPlan, TestCaller
from gateway.app.wavio import read_wav_phone, speak, write_wav_phone
from gateway.errors import GatewayError

__all__ = ["add_call_command"]

PASSWORD_ENV = "VOICEGW_CALL_AUTH_PASSWORD"  # noqa: S105  (the variable's name, not a password)
"""The digest password of ``--auth-user``: from the environment only, never a flag."""


def add_call_command(commands: Any) -> None:
    cmd = commands.add_parser(
        "call",
        help="place a test call: speak, listen, record, report",
        description="Call URI from a pjsua2 test caller and print a summary.",
    )
    cmd.add_argument("uri", help="sip:user@host:port")
    cmd.add_argument(
        "--play", action="append", default=[], metavar="WAV", help="a line (repeatable)"
    )
    cmd.add_argument(
        "--say",
        action="append",
        default=[],
        metavar="TEXT",
        help="a line spoken by espeak-ng (repeatable)",
    )
    cmd.add_argument("--record", metavar="WAV", help="write what the caller heard")
    cmd.add_argument("--dtmf", default="", help="digits to send after answer, e.g. 12#")
    cmd.add_argument("--dtmf-method", choices=("rfc4733", "info"), default="rfc4733")
    cmd.add_argument(
        "--after-answer-ms", type=int, default=1000, help="wait before DTMF / first line"
    )
    cmd.add_argument("--quiet-ms", type=int, default=800, help="far-end silence that ends its turn")
    cmd.add_argument(
        "--barge-in-after-ms",
        type=int,
        help="speak lines after the first this long into the far end's turn (talk over it)",
    )
    cmd.add_argument("--duration", type=float, default=60.0, help="hang up after S seconds")
    cmd.add_argument("--from-user", default="caller")
    cmd.add_argument(
        "--auth-user",
        default=os.environ.get("VOICEGW_CALL_AUTH_USER", ""),
        help="answer digest challenges as this user [VOICEGW_CALL_AUTH_USER]; "
        f"password: {PASSWORD_ENV}",
    )
    cmd.add_argument("--gateway-http", default="", help="fetch the transcript from this gateway")
    cmd.add_argument("--json", action="store_true", help="print the summary as JSON")
    cmd.set_defaults(handler=run_call)


def run_call(args: argparse.Namespace) -> int:
    password = os.environ.get(PASSWORD_ENV, "")
    if args.auth_user and not password:
        print(f"voicegw call: --auth-user needs {PASSWORD_ENV}", file=sys.stderr)
        return 2
    try:
        lines = [read_wav_phone(p) for p in args.play] + [speak(t) for t in args.say]
    except GatewayError as exc:
        print(f"voicegw call: {exc}", file=sys.stderr)
        return 2
    plan = CallPlan(
        uri=args.uri,
        lines=lines,
        dtmf=args.dtmf,
        dtmf_method=args.dtmf_method,
        after_answer_ms=args.after_answer_ms,
        quiet_ms=args.quiet_ms,
        duration_s=args.duration,
        barge_in_after_ms=args.barge_in_after_ms,
        from_user=args.from_user,
        gateway_http=args.gateway_http,
        auth_user=args.auth_user,
        auth_password=password if args.auth_user else "",
    )

    async def go() -> tuple[Any, bytes]:
        caller = TestCaller(plan)
        summary = await caller.run()
        return summary, bytes(caller.heard)

    summary, heard = asyncio.run(go())
    if args.record:
        write_wav_phone(args.record, heard)
    data = dataclasses.asdict(summary)
    if args.json:
        print(json.dumps(data))
    else:
        for key, value in data.items():
            print(f"{key}: {value}")
    return 0 if summary.answered else 1
