"""Stateless answers to SIP requests the stack would drop without a word.

pjsip discards a request it cannot parse (a bad header value, a missing Call-ID, a request
line that is not ``METHOD URI SIP/2.0``) and says nothing to the sender, who retransmits into
the void. RFC 3261 wants an answer whenever one can be routed back: the top Via says where
(18.2.2, RFC 3581), the rest of the headers are echoed so the sender can match it (8.2.6).
:func:`reply_to_dropped` decides, from the raw bytes alone, whether and how to answer:

===========================================  =============================================
what arrived                                  answer
===========================================  =============================================
not a request line (garbage, a response,      none (nothing to route an answer to)
keep-alive CRLFs)
``ACK``                                       none (an ACK is never answered)
no top Via, or one we cannot read             none
a Via header longer than 1 KiB                none
the stack's receive buffer overflowed         513 Message Too Large
a version other than ``SIP/2.0``              505 Version Not Supported
anything else it dropped                      400 Bad Request (a Warning names any missing
                                              mandatory header)
===========================================  =============================================

Sans-I/O: bytes in, a :class:`Reply` (its bytes and where a datagram should go) out. The
caller supplies the To tag.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import ip_address

__all__ = ["Reply", "reply_to_dropped"]

_REQUEST_LINE = re.compile(
    r"(?P<method>[A-Za-z0-9.!%*_+`'~-]+)[ \t]+(?:\S+[ \t]+)*(?P<version>SIP/\d+\.\d+)[ \t]*",
    re.IGNORECASE,
)
_COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id"}
_ECHOED = ("via", "from", "to", "call-id", "cseq")
_MANDATORY = ("Via", "From", "To", "Call-ID", "CSeq")
_CANONICAL = {"via": "Via", "from": "From", "to": "To", "call-id": "Call-ID", "cseq": "CSeq"}
_SENT_BY = re.compile(
    r"SIP\s*/\s*2\.0\s*/\s*(?P<transport>[A-Za-z]+)\s+(?P<host>\[[0-9A-Fa-f:.]+\]|[^\s;:,]+)"
    r"(?::(?P<port>\d{1,5}))?(?P<params>[^,]*)",
    re.IGNORECASE,
)
_PARAM = re.compile(r";\s*(?P<name>[A-Za-z0-9-]+)\s*(?:=\s*(?P<value>[^;\s,]+))?")
_MAX_VALUE = 1024
_MAX_VIAS = 16
_DEFAULT_PORT = {"TLS": 5061}


@dataclass(frozen=True, slots=True)
class Reply:
    """A stateless response and where a datagram carrying it should go."""

    status: int
    method: str
    transport: str
    """The top Via's transport, upper case (``UDP``, ``TCP``, ``TLS``, ...)."""
    host: str
    """An IP address literal, or ``""`` when the Via names a host (stream replies only)."""
    port: int
    message: bytes


def reply_to_dropped(data: bytes, *, tag: str, overflow: bool = False) -> Reply | None:
    """The answer the sender of ``data`` should get, or None when none can or may be sent."""
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    lines = _unfold(re.split(r"\r?\n", head))
    if not lines:
        return None
    start = _REQUEST_LINE.fullmatch(lines[0])
    if start is None or start["method"].upper() == "ACK":
        return None
    headers = _headers(lines[1:])
    vias = headers.get("via", [])
    if not vias or any(len(v) > _MAX_VALUE for v in vias[:_MAX_VIAS]):
        return None
    top = _SENT_BY.match(vias[0])
    if top is None:
        return None
    status, reason, warning = _verdict(start["version"], headers, overflow)
    message = _response(status, reason, warning, headers, tag)
    transport = top["transport"].upper()
    host, port = _destination(top, transport)
    return Reply(status, start["method"], transport, host, port, message)


def _unfold(lines: list[str]) -> list[str]:
    """Join header continuation lines (leading whitespace) to the header they continue."""
    out: list[str] = []
    for line in lines:
        if line[:1] in (" ", "\t") and out:
            out[-1] += " " + line.strip()
        elif line:
            out.append(line)
    return out


def _headers(lines: list[str]) -> dict[str, list[str]]:
    """Values of the headers a response echoes, by lower-case long name, in order."""
    found: dict[str, list[str]] = {}
    for line in lines:
        name, colon, value = line.partition(":")
        key = name.strip().lower()
        key = _COMPACT.get(key, key)
        if colon and key in _ECHOED:
            # one Via header may carry several comma-separated hops
            parts = [p.strip() for p in value.split(",")] if key == "via" else [value.strip()]
            found.setdefault(key, []).extend(p for p in parts if p)
    return found


def _verdict(
    version: str, headers: dict[str, list[str]], overflow: bool
) -> tuple[int, str, str | None]:
    if overflow:
        return 513, "Message Too Large", None
    if version.upper() != "SIP/2.0":
        return 505, "Version Not Supported", None
    missing = [name for name in _MANDATORY if name.lower() not in headers]
    warning = f"missing {', '.join(missing)}" if missing else None
    return 400, "Bad Request", warning


def _response(
    status: int, reason: str, warning: str | None, headers: dict[str, list[str]], tag: str
) -> bytes:
    lines = [f"SIP/2.0 {status} {reason}"]
    lines += [f"Via: {via}" for via in headers["via"][:_MAX_VIAS]]
    for key in ("from", "to", "call-id", "cseq"):
        value = next(iter(headers.get(key, [])), "")
        if not value or len(value) > _MAX_VALUE:
            continue
        if key == "to" and not re.search(r";\s*tag\s*=", value, re.IGNORECASE):
            value += f";tag={tag}"
        lines.append(f"{_CANONICAL[key]}: {value}")
    if warning:
        lines.append(f'Warning: 399 voicegw "{warning}"')
    lines.append("Content-Length: 0")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _destination(top: re.Match[str], transport: str) -> tuple[str, int]:
    """Where a datagram reply goes: ``received`` / ``rport`` if given, else the sent-by."""
    params = {m["name"].lower(): m["value"] or "" for m in _PARAM.finditer(top["params"])}
    host = params.get("received") or top["host"].strip("[]")
    rport = params.get("rport", "")
    port = int(rport) if rport.isdigit() else int(top["port"] or _DEFAULT_PORT.get(transport, 5060))
    try:
        host = str(ip_address(host))
    except ValueError:
        host = ""
    return host, port if 0 < port < 65536 else 0
