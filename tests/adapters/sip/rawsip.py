"""A few hand-written SIP messages over a loopback UDP socket, to check exact wire behaviour.

Independent of pjsua2 on purpose: what the probe answers is read off the wire, headers and all.
Enough SIP for INVITE -> responses -> ACK / BYE / CANCEL on one socket, and for acting as a
callee that captures an INVITE and answers it with a status.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import socket
import time
from dataclasses import dataclass, field

CRLF = "\r\n"


def sdp_offer(rtp_port: int, payload_types: str = "0 8 101") -> str:
    names = {"0": "PCMU/8000", "8": "PCMA/8000", "9": "G722/8000", "101": "telephone-event/8000"}
    lines = [
        "v=0",
        f"o=- {rtp_port} 1 IN IP4 127.0.0.1",
        "s=raw",
        "c=IN IP4 127.0.0.1",
        "t=0 0",
        f"m=audio {rtp_port} RTP/AVP {payload_types}",
        *(f"a=rtpmap:{pt} {names[pt]}" for pt in payload_types.split() if pt in names),
        "a=sendrecv",
    ]
    return CRLF.join(lines) + CRLF


@dataclass
class Message:
    """A parsed SIP message: start line, headers (lower-case names, in order), body."""

    start: str
    headers: list[tuple[str, str]]
    body: str

    @classmethod
    def parse(cls, data: bytes) -> Message:
        head, _, body = data.decode().partition(CRLF + CRLF)
        start, *lines = head.split(CRLF)
        headers = []
        for line in lines:
            name, _, value = line.partition(":")
            headers.append((name.strip().lower(), value.strip()))
        return cls(start, headers, body)

    @property
    def status(self) -> int:
        return int(self.start.split(" ")[1]) if self.start.startswith("SIP/2.0") else 0

    @property
    def method(self) -> str:
        return self.start.split(" ")[0]

    def header(self, name: str) -> str | None:
        return next((v for n, v in self.headers if n == name.lower()), None)


@dataclass
class Dialog:
    """One INVITE we sent, and what we need to ACK / BYE it."""

    call_id: str
    from_tag: str
    branch: str
    request_uri: str
    from_uri: str
    to_uri: str
    cseq: int = 1
    to_header: str = ""
    responses: list[Message] = field(default_factory=list)


class RawSip:
    """One UDP socket on 127.0.0.1 speaking just enough SIP."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtp.bind(("127.0.0.1", 0))
        self.rtp_port = self.rtp.getsockname()[1]

    def close(self) -> None:
        self.sock.close()
        self.rtp.close()

    def _via(self, branch: str) -> str:
        return f"SIP/2.0/UDP 127.0.0.1:{self.port};rport;branch={branch}"

    def send(self, text: str, port: int) -> None:
        self.sock.sendto(text.encode(), ("127.0.0.1", port))

    def receive(self, timeout: float) -> Message | None:
        self.sock.settimeout(timeout)
        try:
            data, _ = self.sock.recvfrom(65535)
        except TimeoutError:
            return None
        return Message.parse(data)

    def invite(
        self,
        port: int,
        *,
        user: str = "gw",
        from_user: str = "alice",
        payload_types: str = "0 8 101",
        extra: tuple[str, ...] = (),
    ) -> Dialog:
        dialog = Dialog(
            call_id=secrets.token_hex(8),
            from_tag=secrets.token_hex(4),
            branch="z9hG4bK" + secrets.token_hex(6),
            request_uri=f"sip:{user}@127.0.0.1:{port}",
            from_uri=f"sip:{from_user}@127.0.0.1:{self.port}",
            to_uri=f"sip:{user}@127.0.0.1:{port}",
        )
        body = sdp_offer(self.rtp_port, payload_types)
        self.send(self._request("INVITE", dialog, body, extra), port)
        return dialog

    def _request(self, method: str, d: Dialog, body: str = "", extra: tuple[str, ...] = ()) -> str:
        lines = [
            f"{method} {d.request_uri} SIP/2.0",
            f"Via: {self._via(d.branch)}",
            "Max-Forwards: 70",
            f"From: <{d.from_uri}>;tag={d.from_tag}",
            f"To: {d.to_header or f'<{d.to_uri}>'}",
            f"Call-ID: {d.call_id}",
            f"CSeq: {d.cseq} {method}",
            f"Contact: <sip:raw@127.0.0.1:{self.port}>",
            *extra,
        ]
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append(f"Content-Length: {len(body.encode())}")
        return CRLF.join(lines) + CRLF + CRLF + body

    def final_response(self, dialog: Dialog, timeout: float = 5.0) -> Message:
        """Collect responses to ``dialog``'s INVITE until a final one (ACKed if non-2xx)."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            msg = self.receive(left)
            if msg is None or msg.header("call-id") != dialog.call_id or not msg.status:
                continue
            dialog.responses.append(msg)
            if msg.status >= 200:
                dialog.to_header = msg.header("to") or ""
                return msg
        raise TimeoutError(f"no final response to INVITE {dialog.call_id}")

    def ack(self, dialog: Dialog, port: int) -> None:
        """ACK the final response (a 2xx ACK is its own transaction, with a new branch)."""
        final = dialog.responses[-1]
        if final.status < 300:
            ack = Dialog(**{**dialog.__dict__, "branch": "z9hG4bK" + secrets.token_hex(6)})
            self.send(self._request("ACK", ack), port)
        else:
            self.send(self._request("ACK", dialog), port)

    def bye(self, dialog: Dialog, port: int) -> Message | None:
        bye = Dialog(**{**dialog.__dict__, "branch": "z9hG4bK" + secrets.token_hex(6), "cseq": 2})
        self.send(self._request("BYE", bye), port)
        deadline = time.monotonic() + 3
        while (left := deadline - time.monotonic()) > 0:
            msg = self.receive(left)
            if msg is not None and msg.header("call-id") == dialog.call_id and msg.status:
                return msg
        return None

    def next_request(self, method: str, timeout: float = 5.0) -> tuple[Message, tuple[str, int]]:
        """Wait for a request of ``method``; the message and where it came from."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            data, addr = self.sock.recvfrom(65535)
            msg = Message.parse(data)
            if msg.method == method:
                return msg, addr
        raise TimeoutError(f"no {method} arrived")

    def respond(
        self, request: Message, addr: tuple[str, int], status: int, extra: tuple[str, ...] = ()
    ) -> None:
        """Answer ``request`` with ``status``, copying the headers a response must echo."""
        lines = [f"SIP/2.0 {status} Test"]
        lines += [f"{n}: {request.header(n)}" for n in ("Via", "From", "Call-ID", "CSeq")]
        lines += [f"To: {request.header('to')};tag=raw", *extra, "Content-Length: 0"]
        self.sock.sendto((CRLF.join(lines) + CRLF + CRLF).encode(), addr)

    def answer_next_invite(self, status: int, timeout: float = 5.0) -> Message:
        """Act as a callee: wait for an INVITE and answer it with a final ``status``."""
        invite, addr = self.next_request("INVITE", timeout)
        self.respond(invite, addr, status)
        return invite


def digest_response(
    *, method: str, uri: str, user: str, realm: str, password: str, nonce: str, nc: str, cnonce: str
) -> str:
    """RFC 2617 digest ``response`` with qop=auth and MD5 (what a registrar checks)."""

    def md5(text: str) -> str:
        return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()

    ha1, ha2 = md5(f"{user}:{realm}:{password}"), md5(f"{method}:{uri}")
    return md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")


def auth_params(header: str) -> dict[str, str]:
    """Parameters of a ``Digest k=v, k="v"`` header value."""
    return {k: v.strip('"') for k, v in re.findall(r'(\w+)=("[^"]*"|[^\s,]+)', header)}


def sdp_payload_types(sdp: str) -> list[str]:
    """The payload types of the first ``m=audio`` line, in order."""
    match = re.search(r"^m=audio \d+ \S+ (.*)$", sdp, re.MULTILINE)
    return match.group(1).split() if match else []


def sdp_rtpmap(sdp: str) -> dict[str, str]:
    return dict(re.findall(r"^a=rtpmap:(\d+) (\S+)", sdp, re.MULTILINE))
