"""Pick a call's entry agent from the dialed number / Request-URI user and the caller."""

from __future__ import annotations

import re
from urllib.parse import unquote

from gateway.core.agents.spec import RoutesSpec

__all__ = ["Router", "sip_user"]

_URI = re.compile(r"^(?:.*<)?(?P<scheme>sips?|tel):(?P<rest>[^>]*)", re.IGNORECASE)


def sip_user(uri: str) -> str:
    """The user part of a SIP/tel URI or a name-addr (``"Bob" <sip:+4420@host>`` -> ``+4420``).

    Schemes are case-insensitive (RFC 3261 19.1.4); escapes are decoded; a SIP URI without a
    user part (``sip:pbx.example.com``) has an empty user. Text that is not a URI is returned
    stripped (a bare number).
    """
    match = _URI.match(uri.strip())
    if match is None:
        return uri.strip()
    rest = match["rest"]
    if match["scheme"].lower() == "tel":
        return unquote(rest.split(";", 1)[0])
    if "@" not in rest:
        return ""
    return unquote(rest.split("@", 1)[0].split(";", 1)[0])


class Router:
    """The graph's route table, compiled once: first matching rule wins, else the default."""

    __slots__ = ("_default", "_rules")

    def __init__(self, routes: RoutesSpec) -> None:
        self._default = routes.default
        self._rules = [
            (
                re.compile(r.dialed) if r.dialed is not None else None,
                re.compile(r.caller) if r.caller is not None else None,
                r.agent,
            )
            for r in routes.rules
        ]

    def entry_agent(self, dialed: str, caller: str = "") -> str:
        """Name of the agent that answers a call to ``dialed`` from ``caller`` (user parts)."""
        for dialed_re, caller_re, agent in self._rules:
            if dialed_re is not None and not dialed_re.fullmatch(dialed):
                continue
            if caller_re is not None and not caller_re.fullmatch(caller):
                continue
            return agent
        return self._default
