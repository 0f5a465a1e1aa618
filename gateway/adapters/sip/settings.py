"""What the SIP stack is configured with, and the pjsua2 endpoint and account configs built
from it (the endpoint's thread model is :mod:`gateway.adapters.sip.endpoint`'s)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pjsua2 as pj

from gateway.core.audio.transcode import PHONE_RATE
from gateway.core.sip_digest import DigestChallenger

__all__ = [
    "DEFAULT_CODECS",
    "EndpointSettings",
    "RegistrationSettings",
    "SipSettings",
    "account_config",
    "endpoint_config",
    "set_codec_priorities",
]


DEFAULT_CODECS = ("PCMU/8000/1", "PCMA/8000/1", "G722/16000/1")
"""Offered in this order; every other codec of the build is disabled (priority 0)."""


@dataclass(frozen=True, slots=True)
class EndpointSettings:
    """How the process's endpoint is set up. ``port=0`` picks a free UDP port."""

    host: str = "127.0.0.1"
    port: int = 0
    poll_ms: int = 1000
    """libHandleEvents timeout: idle wakeups per second vs. lateness of timers armed elsewhere."""
    max_calls: int = 4
    codecs: tuple[str, ...] = DEFAULT_CODECS
    user_agent: str = "voicegw"
    tcp: bool = False
    """Also listen on TCP, on the UDP transport's port."""
    public_address: str = ""
    """Address to advertise in Via/Contact when behind NAT (empty: the bound one)."""
    tls: bool = False
    """Also open a TLS transport (port ``tls_port``, 0 = any free port)."""
    tls_port: int = 0
    tls_cert: str = ""
    """PEM certificate and key files for accepting TLS; a client-only transport needs none."""
    tls_key: str = ""
    log_level: int = 0
    """pjlib log level (0 = silent; pjlib's own console output goes to stdout)."""


def endpoint_config(settings: EndpointSettings) -> Any:
    """The ``EpConfig`` for the endpoint's thread model (see ``endpoint.py``), with an 8 kHz
    conference bridge."""
    cfg = pj.EpConfig()
    ua = cfg.uaConfig
    ua.threadCnt = 0
    ua.mainThreadOnly = False
    ua.maxCalls = settings.max_calls
    ua.userAgent = settings.user_agent
    med = cfg.medConfig
    med.hasIoqueue = False
    med.threadCnt = 0
    med.clockRate = PHONE_RATE
    med.sndClockRate = PHONE_RATE
    med.channelCount = 1
    med.audioFramePtime = 20
    med.ptime = 20
    med.noVad = True
    med.ecTailLen = 0
    med.sndAutoCloseTime = -1
    cfg.logConfig.level = settings.log_level
    cfg.logConfig.consoleLevel = settings.log_level
    return cfg


def set_codec_priorities(ep: Any, codecs: Iterable[str]) -> list[str]:
    """Enable ``codecs`` in the given order and disable the rest; returns the enabled ids."""
    wanted = list(codecs)
    present = {info.codecId for info in ep.codecEnum2()}
    for codec_id in present:
        ep.codecSetPriority(codec_id, 0)
    enabled = [c for c in wanted if c in present]
    for rank, codec_id in enumerate(enabled):
        ep.codecSetPriority(codec_id, 254 - rank)
    return enabled


@dataclass(frozen=True, slots=True)
class RegistrationSettings:
    """Register with a registrar/PBX (digest auth) and take the calls it sends."""

    registrar: str
    """``sip:pbx.example.com``"""
    username: str
    password: str
    domain: str = ""
    """Defaults to the registrar's host."""
    expires_s: int = 300


@dataclass(frozen=True, slots=True)
class SipSettings:
    endpoint: EndpointSettings = field(default_factory=EndpointSettings)
    public_address: str = ""
    """Address to put in Contact and SDP (behind NAT); empty: the bound address."""
    rtp_port: int = 10000
    rtp_port_range: int = 1000
    allow: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    """Source networks allowed to send INVITEs (IP-trunk mode)."""
    registration: RegistrationSettings | None = None
    inbound_auth: DigestChallenger | None = None
    transfer_timeout_s: float = 30.0
    srtp: str = "off"
    """``off``, ``optional`` or ``mandatory`` (SDES, keys exchanged over TLS only)."""


def account_config(settings: SipSettings, sip_port: int, reg: RegistrationSettings | None) -> Any:
    """The trunk account (``reg`` None: takes INVITEs from the allowed networks) or a
    registering one."""
    cfg = pj.AccountConfig()
    host = settings.public_address or settings.endpoint.host
    cfg.idUri = f"sip:voicegw@{host}:{sip_port}"
    tp = cfg.mediaConfig.transportConfig
    tp.port = settings.rtp_port
    tp.portRange = settings.rtp_port_range
    if settings.endpoint.host not in ("", "0.0.0.0"):  # noqa: S104 - compares only
        tp.boundAddress = settings.endpoint.host
    if settings.srtp != "off":
        media = cfg.mediaConfig
        mandatory = settings.srtp == "mandatory"
        media.srtpUse = pj.PJMEDIA_SRTP_MANDATORY if mandatory else pj.PJMEDIA_SRTP_OPTIONAL
        media.srtpSecureSignaling = 1  # SDES keys only over a TLS hop
    if settings.public_address:
        tp.publicAddress = settings.public_address
    if reg is not None:
        domain = reg.domain or reg.registrar.split(":", 1)[-1].split(";")[0]
        cfg.idUri = f"sip:{reg.username}@{domain}"
        cfg.regConfig.registrarUri = reg.registrar
        cfg.regConfig.timeoutSec = reg.expires_s
        cfg.sipConfig.authCreds.append(
            pj.AuthCredInfo("digest", "*", reg.username, 0, reg.password)
        )
    return cfg
