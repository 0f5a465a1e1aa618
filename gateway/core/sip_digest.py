"""SIP digest authentication (RFC 3261 22, RFC 2617 MD5 with qop=auth) for inbound INVITEs.

Sans-I/O: the caller supplies ``now`` and the server secret. Nonces are stateless: a timestamp
and an HMAC of it under the secret, so any worker process with the same secret can check them
and stale ones are refused without keeping state.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

__all__ = ["DigestChallenger", "parse_digest"]

_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


def parse_digest(header: str) -> dict[str, str]:
    """Parameters of a ``Digest ...`` Authorization value (empty if it is not Digest)."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "digest":
        return {}
    return {m[1].lower(): m[2] if m[2] is not None else m[3] for m in _PARAM.finditer(rest)}


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


@dataclass(frozen=True, slots=True)
class DigestChallenger:
    """Issues challenges and checks answers for one realm and one username/password."""

    realm: str
    username: str
    password: str
    secret: bytes
    max_age_s: int = 300

    def nonce(self, now: float) -> str:
        stamp = str(int(now))
        mac = hmac.new(self.secret, stamp.encode(), hashlib.sha256).hexdigest()[:32]
        return f"{stamp}.{mac}"

    def challenge(self, now: float) -> str:
        """A ``WWW-Authenticate`` value for a 401."""
        return f'Digest realm="{self.realm}", nonce="{self.nonce(now)}", algorithm=MD5, qop="auth"'

    def _fresh(self, nonce: str, now: float) -> bool:
        stamp, _, mac = nonce.partition(".")
        if not stamp.isdigit():
            return False
        good = hmac.new(self.secret, stamp.encode(), hashlib.sha256).hexdigest()[:32]
        return hmac.compare_digest(mac, good) and 0 <= now - int(stamp) <= self.max_age_s

    def verify(self, authorization: str, method: str, now: float) -> bool:
        """True if ``authorization`` answers one of our fresh nonces with the right password."""
        p = parse_digest(authorization)
        required = ("username", "realm", "nonce", "uri", "response")
        if any(k not in p for k in required) or p["realm"] != self.realm:
            return False
        if not hmac.compare_digest(p["username"], self.username) or not self._fresh(
            p["nonce"], now
        ):
            return False
        if p.get("algorithm", "MD5").upper() != "MD5":
            return False
        ha1 = _md5(f"{self.username}:{self.realm}:{self.password}")
        ha2 = _md5(f"{method}:{p['uri']}")
        if p.get("qop") == "auth":
            expected = _md5(
                f"{ha1}:{p['nonce']}:{p.get('nc', '')}:{p.get('cnonce', '')}:auth:{ha2}"
            )
        else:
            expected = _md5(f"{ha1}:{p['nonce']}:{ha2}")
        return hmac.compare_digest(expected, p["response"].lower())
