"""``voicegw openai-sip``: run agent graphs on calls that arrive at OpenAI's SIP endpoint.

A dedicated command rather than ``serve --openai-sip``: this transport has no SIP stack, RTP
ports or pjsua2 limits of its own (OpenAI answers the phone), and its settings (webhook
secret, REST base, caller policy) share nothing with ``serve``'s SIP flags. Both commands run
the same agent graphs, route table and runtime, and write the same CDRs.

Every flag has an environment variable (shown in ``--help``). Secrets come from the
environment only: ``OPENAI_WEBHOOK_SECRET`` (required) and ``OPENAI_API_KEY``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.adapters.openai_calls import DEFAULT_API_BASE
from gateway.adapters.realtime_ws import DEFAULT_BASE_URL
from gateway.errors import ConfigError, ConfigIssue, GatewayError

__all__ = ["add_openai_sip_command", "openai_sip_settings"]

EXIT_INVALID = 2
EXIT_FAILED = 1

if TYPE_CHECKING:  # the app itself is imported when the command runs
    from gateway.app.openai_sip import OpenAISipSettings


def _env(name: str, default: Any = None) -> Any:
    return os.environ.get(f"VOICEGW_{name}", default)


def add_openai_sip_command(commands: Any) -> None:
    cmd = commands.add_parser(
        "openai-sip",
        help="run agent graphs on calls to OpenAI's SIP endpoint (webhook + call control)",
        description="Receive realtime.call.incoming webhooks, accept or reject the calls, "
        "and run the agent graph over each call's sideband WebSocket.",
    )
    cmd.add_argument("--config", default=_env("CONFIG"), help="agent graph YAML [VOICEGW_CONFIG]")
    web = cmd.add_argument_group("webhook and HTTP (POST /openai/webhook, /healthz, /readyz)")
    web.add_argument(
        "--http-host", default=_env("HTTP_HOST", "127.0.0.1"), help="[VOICEGW_HTTP_HOST]"
    )
    web.add_argument(
        "--http-port", type=int, default=int(_env("HTTP_PORT", 8080)), help="[VOICEGW_HTTP_PORT]"
    )
    web.add_argument(
        "--webhook-rate",
        type=float,
        default=float(_env("WEBHOOK_RATE", 20)),
        help="webhook requests/s allowed per source address, more get 429 + Retry-After "
        "(0: no limit) [VOICEGW_WEBHOOK_RATE]",
    )
    web.add_argument(
        "--webhook-burst",
        type=int,
        default=int(_env("WEBHOOK_BURST", 40)),
        help="requests one source may send at once [VOICEGW_WEBHOOK_BURST]",
    )
    web.add_argument(
        "--webhook-total-rate",
        type=float,
        default=float(_env("WEBHOOK_TOTAL_RATE", 100)),
        help="webhook requests/s from all sources together; burst twice that "
        "[VOICEGW_WEBHOOK_TOTAL_RATE]",
    )
    api = cmd.add_argument_group("OpenAI")
    api.add_argument(
        "--realtime-url",
        default=_env("REALTIME_URL", DEFAULT_BASE_URL),
        help="sideband WebSocket base [VOICEGW_REALTIME_URL]",
    )
    api.add_argument(
        "--api-base",
        default=_env("API_BASE", DEFAULT_API_BASE),
        help="REST base for /realtime/calls [VOICEGW_API_BASE]",
    )
    calls = cmd.add_argument_group("calls")
    calls.add_argument(
        "--max-calls", type=int, default=int(_env("MAX_CALLS", 20)), help="[VOICEGW_MAX_CALLS]"
    )
    calls.add_argument(
        "--allow-caller",
        action="append",
        default=None,
        help="caller (From user) regex allowed to call, repeatable; others are rejected 603 "
        "[VOICEGW_ALLOW_CALLERS, comma-separated; default: everyone]",
    )
    calls.add_argument("--transfer-wait-s", type=float, default=30.0, help="hang up after refer")
    calls.add_argument("--cdr-dir", default=_env("CDR_DIR", "var/cdr"), help="[VOICEGW_CDR_DIR]")
    calls.add_argument("--drain-timeout", type=float, default=float(_env("DRAIN_TIMEOUT", 30)))
    cmd.set_defaults(handler=run_openai_sip)


def openai_sip_settings(args: argparse.Namespace) -> OpenAISipSettings:
    """Settings from flags and environment; ConfigError lists everything missing or wrong."""
    from gateway.adapters.webhook import WebhookSecret  # noqa: PLC0415
    from gateway.app.openai_sip import OpenAISipSettings  # noqa: PLC0415

    problems: list[ConfigIssue] = []

    def problem(text: str) -> None:
        problems.append(ConfigIssue("openai-sip", None, "", text))

    if not args.config:
        problem("--config is required (or VOICEGW_CONFIG)")
    secret = None
    if not os.environ.get("OPENAI_WEBHOOK_SECRET"):
        problem("set OPENAI_WEBHOOK_SECRET (the webhook's signing secret, whsec_...)")
    else:
        try:
            secret = WebhookSecret(os.environ["OPENAI_WEBHOOK_SECRET"])
        except ConfigError as exc:
            problems.extend(exc.issues)
    api_key = os.environ.get("OPENAI_API_KEY")
    official = args.api_base.startswith(DEFAULT_API_BASE) or args.realtime_url.startswith(
        DEFAULT_BASE_URL
    )
    if official and not api_key:
        problem("OPENAI_API_KEY is needed for the OpenAI API")
    if args.max_calls < 1:
        problem("--max-calls must be at least 1")
    _check_rates(args, problem)
    if problems or secret is None:
        raise ConfigError(problems)
    allow = args.allow_caller
    if allow is None:
        allow = (_env("ALLOW_CALLERS") or "").split(",")
    return OpenAISipSettings(
        config=Path(args.config),
        webhook_secret=secret,
        realtime_url=args.realtime_url,
        api_base=args.api_base,
        api_key=api_key or "voicegw-emulator",
        http_host=args.http_host,
        http_port=args.http_port,
        cdr_dir=Path(args.cdr_dir),
        max_calls=args.max_calls,
        allow_callers=tuple(a.strip() for a in allow if a.strip()),
        drain_timeout_s=args.drain_timeout,
        transfer_wait_s=args.transfer_wait_s,
        webhook_rate=args.webhook_rate,
        webhook_burst=args.webhook_burst,
        webhook_total_rate=args.webhook_total_rate,
        webhook_total_burst=max(1, round(2 * args.webhook_total_rate)),
    )


def _check_rates(args: argparse.Namespace, problem: Callable[[str], None]) -> None:
    if args.webhook_rate < 0:
        problem("--webhook-rate must be 0 (no limit) or more")
    elif args.webhook_rate > 0:
        if args.webhook_burst < 1:
            problem("--webhook-burst must be at least 1")
        if args.webhook_total_rate < args.webhook_rate:
            problem("--webhook-total-rate must be at least --webhook-rate")


def run_openai_sip(args: argparse.Namespace) -> int:
    from gateway.app.openai_sip import OpenAISipGateway  # noqa: PLC0415

    try:
        gateway = OpenAISipGateway(openai_sip_settings(args))
    except ConfigError as exc:
        for issue in exc.issues:
            print(issue, file=sys.stderr)
        return EXIT_INVALID
    try:
        asyncio.run(gateway.run_until_signalled())
    except (GatewayError, OSError) as exc:
        print(f"voicegw openai-sip: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return 0
