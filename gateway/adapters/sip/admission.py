"""Who may call: the allowed source networks and, optionally, inbound digest auth.

Decided before a call reaches the application: an unknown source network gets 403; with
inbound auth on, an INVITE without credentials gets a 401 challenge and one with a wrong
answer 403. Any thread may ask (pjsip hooks ask from the SIP thread).
"""

from __future__ import annotations

import time
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

from gateway.adapters.sip.leg import InviteInfo
from gateway.adapters.sip.settings import SipSettings

__all__ = ["Admission", "Refusal"]

Refusal = tuple[int, str, dict[str, str]]
"""``(status, why, headers)``: how to refuse an INVITE."""


class Admission:
    def __init__(self, settings: SipSettings) -> None:
        self._networks: tuple[IPv4Network | IPv6Network, ...] = tuple(
            ip_network(n, strict=False) for n in settings.allow
        )
        self._auth = settings.inbound_auth

    def allowed_host(self, host: str) -> bool:
        """Is ``host`` (an IP literal) inside the allowed source networks?"""
        try:
            address = ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self._networks)

    def refusal(self, info: InviteInfo) -> Refusal | None:
        """How to refuse ``info``, or None to let it through."""
        if not self.allowed_host(info.source_host):
            return 403, "source_not_allowed", {}
        auth = self._auth
        if auth is None:
            return None
        now = time.time()
        if any(auth.verify(value, "INVITE", now) for value in info.authorization):
            return None
        if info.authorization:
            return 403, "auth_failed", {}
        return 401, "auth_challenge", {"WWW-Authenticate": auth.challenge(now)}
