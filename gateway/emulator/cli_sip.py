"""``voicegw emulator --sip-port N ...``: the OpenAI side of the SIP path, offline.

With ``--sip-port`` the emulator also answers INVITEs for ``sip:<project-id>@HOST:PORT``, fires
signed ``realtime.call.incoming`` webhooks at ``--webhook-url`` (the secret comes from
``OPENAI_WEBHOOK_SECRET`` only, never a flag) and serves the REST calls API on ``--rest-port``
(``http://HOST:PORT/v1/realtime/calls/{call_id}/accept|reject|refer|hangup``).
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any

from gateway.errors import ConfigError, ConfigIssue

if TYPE_CHECKING:
    from gateway.emulator.server import EmulatorServer
    from gateway.emulator.sip_front import SipFront

__all__ = ["add_sip_front_arguments", "front_from_args"]


def add_sip_front_arguments(cmd: Any) -> None:
    sip = cmd.add_argument_group(
        "OpenAI SIP side (a SIP front, the REST calls API, signed webhooks; "
        "secret: OPENAI_WEBHOOK_SECRET)"
    )
    sip.add_argument("--sip-port", type=int, help="answer INVITEs on this UDP/TCP port (0: any)")
    sip.add_argument("--sip-host", default="127.0.0.1", help="SIP and REST listen address")
    sip.add_argument("--rtp-port", type=int, default=12000, help="first RTP port of the front")
    sip.add_argument("--rtp-port-range", type=int, default=200)
    sip.add_argument("--rest-port", type=int, default=8766, help="REST calls API port (0: any)")
    sip.add_argument("--project-id", default="proj_emulator", help="the Request-URI user")
    sip.add_argument("--webhook-url", help="where realtime.call.incoming is POSTed")
    sip.add_argument("--webhook-attempts", type=int, default=6, help="deliveries until a 2xx")
    sip.add_argument("--webhook-retry-ms", type=int, default=1000, help="first retry wait")
    sip.add_argument("--webhook-delay-ms", type=int, default=0, help="hold each delivery back")
    sip.add_argument(
        "--webhook-duplicates", type=int, default=0, help="deliver each event N more times"
    )
    sip.add_argument("--ring-timeout-s", type=float, default=60.0, help="then 480")


def front_from_args(args: argparse.Namespace, server: EmulatorServer) -> SipFront | None:
    """The SIP front the flags describe (None without ``--sip-port``); ConfigError if unusable."""
    if args.sip_port is None:
        return None
    from gateway.adapters.sip.endpoint import EndpointSettings  # noqa: PLC0415  (pjsua2 types)
    from gateway.adapters.sip.stack import SipSettings  # noqa: PLC0415
    from gateway.adapters.webhook import WebhookSecret  # noqa: PLC0415
    from gateway.emulator.sip_front import FrontSettings, SipFront  # noqa: PLC0415
    from gateway.emulator.webhooks import WebhookSettings  # noqa: PLC0415

    problems = []
    secret = os.environ.get("OPENAI_WEBHOOK_SECRET", "")
    if not secret:
        problems.append("--sip-port needs OPENAI_WEBHOOK_SECRET (the webhook signing secret)")
    if not args.webhook_url:
        problems.append("--sip-port needs --webhook-url")
    if not args.project_id.startswith("proj_"):
        problems.append("--project-id must look like proj_...")
    if problems:
        raise ConfigError([ConfigIssue("emulator", None, "", p) for p in problems])
    webhook = WebhookSettings(
        url=args.webhook_url,
        secret=WebhookSecret(secret),
        attempts=max(1, args.webhook_attempts),
        retry_s=args.webhook_retry_ms / 1000,
        delay_ms=args.webhook_delay_ms,
        duplicates=max(0, args.webhook_duplicates),
    )
    sip = SipSettings(
        endpoint=EndpointSettings(host=args.sip_host, port=args.sip_port, tcp=True),
        rtp_port=args.rtp_port,
        rtp_port_range=args.rtp_port_range,
    )
    settings = FrontSettings(
        webhook=webhook,
        project_id=args.project_id,
        ring_timeout_s=args.ring_timeout_s,
        rest_host=args.sip_host,
        rest_port=args.rest_port,
        sip=sip,
    )
    return SipFront(server, settings)
