"""``voicegw serve``: answer SIP calls with an agent graph until SIGTERM/SIGINT.

Every flag has an environment variable (shown in ``--help``) so service files can configure
the gateway without a command line. Secrets (SIP passwords, the API key) come from the
environment only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
from pathlib import Path
from typing import Any

from gateway.adapters.realtime_ws import DEFAULT_BASE_URL
from gateway.adapters.sip.endpoint import EndpointSettings
from gateway.adapters.sip.stack import RegistrationSettings, SipSettings
from gateway.app.gateway import Gateway, GatewaySettings
from gateway.app.worker_main import become_worker, run_workers
from gateway.core.sip_digest import DigestChallenger
from gateway.errors import ConfigError, GatewayError

__all__ = ["add_serve_command", "gateway_settings"]

EXIT_INVALID = 2
EXIT_FAILED = 1
SRTP_MODES = ("off", "optional", "mandatory")


def _env(name: str, default: Any = None) -> Any:
    return os.environ.get(f"VOICEGW_{name}", default)


def add_serve_command(commands: Any) -> None:
    cmd = commands.add_parser(
        "serve",
        help="answer SIP calls with an agent graph",
        description="Answer SIP calls (IP trunk or registration) and bridge them to Realtime.",
    )
    cmd.add_argument("--config", default=_env("CONFIG"), help="agent graph YAML [VOICEGW_CONFIG]")
    sip = cmd.add_argument_group("SIP")
    sip.add_argument("--sip-host", default=_env("SIP_HOST", "0.0.0.0"), help="[VOICEGW_SIP_HOST]")  # noqa: S104  (a server binds all interfaces by default)
    sip.add_argument(
        "--sip-port",
        type=int,
        default=int(_env("SIP_PORT", 5060)),
        help="UDP and TCP [VOICEGW_SIP_PORT]",
    )
    sip.add_argument("--no-tcp", action="store_true", help="UDP only")
    sip.add_argument(
        "--public-address",
        default=_env("PUBLIC_ADDRESS", ""),
        help="address for Contact/SDP behind NAT [VOICEGW_PUBLIC_ADDRESS]",
    )
    sip.add_argument(
        "--rtp-port",
        type=int,
        default=int(_env("RTP_PORT", 10000)),
        help="first RTP port [VOICEGW_RTP_PORT]",
    )
    sip.add_argument(
        "--rtp-port-range",
        type=int,
        default=int(_env("RTP_PORT_RANGE", 1000)),
        help="[VOICEGW_RTP_PORT_RANGE]",
    )
    sip.add_argument(
        "--allow",
        action="append",
        default=None,
        help="source network allowed to call (repeatable) "
        "[VOICEGW_ALLOW, comma-separated; default loopback]",
    )
    sip.add_argument(
        "--register",
        default=_env("REGISTER"),
        help="registrar URI, e.g. sip:pbx.example.com [VOICEGW_REGISTER]",
    )
    sip.add_argument(
        "--sip-user",
        default=_env("SIP_USER"),
        help="username for REGISTER [VOICEGW_SIP_USER]; password: VOICEGW_SIP_PASSWORD",
    )
    sip.add_argument("--register-expires", type=int, default=int(_env("REGISTER_EXPIRES", 300)))
    sip.add_argument(
        "--inbound-auth-user",
        default=_env("INBOUND_AUTH_USER"),
        help="challenge INVITEs with digest auth [VOICEGW_INBOUND_AUTH_USER]; "
        "password: VOICEGW_INBOUND_AUTH_PASSWORD",
    )
    sip.add_argument(
        "--attended-transfer",
        action="store_true",
        help="consult the target before REFER (REFER with Replaces)",
    )
    sip.add_argument(
        "--tls-cert",
        default=_env("TLS_CERT"),
        help="PEM certificate (chain): also take SIP over TLS on --tls-port; the pjsua2 wheel's "
        "bundled OpenSSL 1.0.2k speaks TLS 1.2 at most [VOICEGW_TLS_CERT]",
    )
    sip.add_argument(
        "--tls-key", default=_env("TLS_KEY"), help="PEM private key of --tls-cert [VOICEGW_TLS_KEY]"
    )
    sip.add_argument(
        "--tls-port", type=int, default=int(_env("TLS_PORT", 5061)), help="[VOICEGW_TLS_PORT]"
    )
    sip.add_argument(
        "--srtp",
        choices=SRTP_MODES,
        default=_env("SRTP", "off"),
        help="encrypt media: optional (when the caller offers it) or mandatory (others get "
        "488); SDES keys travel only over TLS, so this needs --tls-cert [VOICEGW_SRTP]",
    )
    rt = cmd.add_argument_group("Realtime")
    rt.add_argument(
        "--realtime-url",
        default=_env("REALTIME_URL"),
        help="default: the OpenAI API when OPENAI_API_KEY is set [VOICEGW_REALTIME_URL]",
    )
    ops = cmd.add_argument_group("operations")
    ops.add_argument(
        "--http-host", default=_env("HTTP_HOST", "127.0.0.1"), help="[VOICEGW_HTTP_HOST]"
    )
    ops.add_argument(
        "--http-port",
        type=int,
        default=int(_env("HTTP_PORT", 8080)),
        help="/healthz /readyz /calls [VOICEGW_HTTP_PORT]",
    )
    ops.add_argument("--cdr-dir", default=_env("CDR_DIR", "var/cdr"), help="[VOICEGW_CDR_DIR]")
    ops.add_argument(
        "--max-calls",
        type=int,
        default=int(_env("MAX_CALLS", 3)),
        help="concurrent calls; beyond, INVITEs get 503 + Retry-After (4 is pjsua's limit: "
        "with 4, an INVITE in the instant before the gate closes gets pjsua's 486) "
        "[VOICEGW_MAX_CALLS]",
    )
    ops.add_argument(
        "--min-ring-ms",
        type=int,
        default=int(_env("MIN_RING_MS", 0)),
        help="ring at least this long before answering [VOICEGW_MIN_RING_MS]",
    )
    ops.add_argument("--retry-after", type=int, default=int(_env("RETRY_AFTER", 30)))
    ops.add_argument("--drain-timeout", type=float, default=float(_env("DRAIN_TIMEOUT", 30)))
    ops.add_argument(
        "--workers",
        type=int,
        default=int(_env("WORKERS", 0)),
        help="run N worker processes under a supervisor: worker i on SIP port --sip-port+i and "
        "HTTP port --http-port+1+i, the RTP range split between them (0: this process answers "
        "calls itself) [VOICEGW_WORKERS]",
    )
    ops.add_argument("--worker-index", type=int, default=None, help=argparse.SUPPRESS)
    cmd.set_defaults(handler=run_serve)


def gateway_settings(args: argparse.Namespace) -> GatewaySettings:
    """Settings from flags and environment; ConfigError says what is missing or wrong."""
    problems: list[str] = []
    if not args.config:
        problems.append("--config is required (or VOICEGW_CONFIG)")
    api_key = os.environ.get("OPENAI_API_KEY")
    url = args.realtime_url or (DEFAULT_BASE_URL if api_key else None)
    if url is None:
        problems.append("set OPENAI_API_KEY, or --realtime-url for the emulator")
    if url and not api_key and url.startswith(DEFAULT_BASE_URL):
        problems.append("OPENAI_API_KEY is needed for the OpenAI API")
    if not 1 <= args.max_calls <= 4:
        problems.append("--max-calls must be 1..4 (the pjsua2 wheel allows 4 calls per process)")
    registration = _registration(args, problems)
    inbound = _inbound_auth(args, problems)
    _check_tls(args, problems)
    if problems:
        from gateway.errors import ConfigIssue  # noqa: PLC0415

        raise ConfigError([ConfigIssue("serve", None, "", p) for p in problems])
    allow = tuple(args.allow or (_env("ALLOW") or "127.0.0.0/8,::1/128").split(","))
    sip = SipSettings(
        endpoint=EndpointSettings(
            host=args.sip_host,
            port=args.sip_port,
            tcp=not args.no_tcp,
            public_address=args.public_address,
            tls=bool(args.tls_cert),
            tls_port=args.tls_port,
            tls_cert=args.tls_cert or "",
            tls_key=args.tls_key or "",
        ),
        public_address=args.public_address,
        rtp_port=args.rtp_port,
        rtp_port_range=args.rtp_port_range,
        allow=tuple(a.strip() for a in allow if a.strip()),
        registration=registration,
        inbound_auth=inbound,
        srtp=args.srtp,
    )
    return GatewaySettings(
        config=Path(args.config),
        sip=sip,
        realtime_url=url or DEFAULT_BASE_URL,
        api_key=api_key or "voicegw-emulator",
        http_host=args.http_host,
        http_port=args.http_port,
        cdr_dir=Path(args.cdr_dir),
        max_calls=args.max_calls,
        retry_after_s=args.retry_after,
        drain_timeout_s=args.drain_timeout,
        min_ring_s=args.min_ring_ms / 1000,
        attended_transfer=args.attended_transfer,
    )


def _check_tls(args: argparse.Namespace, problems: list[str]) -> None:
    """TLS needs a readable certificate and key; SRTP needs TLS (its keys travel in the SDP)."""
    if bool(args.tls_cert) != bool(args.tls_key):
        problems.append("--tls-cert and --tls-key go together (or VOICEGW_TLS_CERT/_KEY)")
    for flag, path in (("--tls-cert", args.tls_cert), ("--tls-key", args.tls_key)):
        if path and not os.access(path, os.R_OK):
            problems.append(f"{flag} {path}: not a readable file")
    if args.srtp not in SRTP_MODES:
        problems.append(f"--srtp must be one of {', '.join(SRTP_MODES)}, not {args.srtp!r}")
    elif args.srtp != "off" and not args.tls_cert:
        problems.append("--srtp needs --tls-cert: SDES keys are only exchanged over TLS")


def _registration(args: argparse.Namespace, problems: list[str]) -> RegistrationSettings | None:
    if not args.register:
        return None
    password = os.environ.get("VOICEGW_SIP_PASSWORD", "")
    if not args.sip_user or not password:
        problems.append("--register needs --sip-user and VOICEGW_SIP_PASSWORD")
        return None
    return RegistrationSettings(
        args.register, args.sip_user, password, expires_s=args.register_expires
    )


def _inbound_auth(args: argparse.Namespace, problems: list[str]) -> DigestChallenger | None:
    if not args.inbound_auth_user:
        return None
    password = os.environ.get("VOICEGW_INBOUND_AUTH_PASSWORD", "")
    if not password:
        problems.append("--inbound-auth-user needs VOICEGW_INBOUND_AUTH_PASSWORD")
        return None
    secret = os.environ.get("VOICEGW_NONCE_SECRET", "").encode() or secrets.token_bytes(32)
    return DigestChallenger("voicegw", args.inbound_auth_user, password, secret)


def run_serve(args: argparse.Namespace) -> int:
    try:
        settings = gateway_settings(args)
        if args.workers and args.worker_index is None:
            return run_workers(settings, args)  # a supervisor: no SIP stack in this process
        if args.worker_index is not None:
            become_worker(args.worker_index)  # before the SIP stack exists: no orphan binds it
        gateway = Gateway(settings)
    except ConfigError as exc:
        for issue in exc.issues:
            print(issue, file=sys.stderr)
        return EXIT_INVALID
    try:
        asyncio.run(gateway.run_until_signalled())
    except (GatewayError, OSError) as exc:
        print(f"voicegw serve: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return 0
