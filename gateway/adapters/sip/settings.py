"""What the SIP stack is configured with, and the pjsua2 account configs built from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pjsua2 as pj

from gateway.adapters.sip.endpoint import EndpointSettings
from gateway.core.sip_digest import DigestChallenger

__all__ = ["RegistrationSettings", "SipSettings", "account_config"]


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
