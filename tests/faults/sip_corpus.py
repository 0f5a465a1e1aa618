"""The malformed-SIP corpus: hand-written cases from ``tests/data/sip_corpus/`` and generated
ones, replayed at a gateway over UDP and TCP, with what came back.

Files: ``*.bin`` are sent as they are; ``*.sip`` are templates (lines joined with CRLF) in
which ``${GATEWAY}``, ``${LOCAL}``, ``${TRANSPORT}``, ``${CALL_ID}``, ``${BRANCH}``, ``${TAG}``
and ``${BODY_LENGTH}`` (the real body length; a literal number stays wrong on purpose) are
filled in per send. ``expected.yaml`` says what each case must get back over each transport.

Every case goes out on its own socket (UDP) or connection (TCP), all at once, and the answers
are collected for a short while: a case gets whatever responses reached its socket. A final
response to an INVITE is ACKed, as a caller would, so the gateway stops retransmitting it.
"""

from __future__ import annotations

import random
import re
import secrets
import selectors
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any

import yaml

CORPUS = Path(__file__).resolve().parents[1] / "data" / "sip_corpus"
CRLF = b"\r\n"


@dataclass(frozen=True)
class Case:
    name: str
    template: bytes
    """Raw bytes (``.bin``) or a template with ``${...}`` fields (``.sip``)."""
    expected: dict[str, Any] = field(default_factory=dict)
    """Per transport (``udp``, ``tcp``): a status, ``none``, or ``any``."""

    @property
    def is_template(self) -> bool:
        return not self.name.endswith(".bin")

    def render(self, transport: str, local: str, gateway: str) -> bytes:
        if not self.is_template:
            return self.template
        text = self.template.decode("latin-1").replace("\r\n", "\n")
        head, sep, body = text.partition("\n\n")
        fields = {
            "GATEWAY": gateway,
            "LOCAL": local,
            "TRANSPORT": transport.upper(),
            "CALL_ID": f"corpus-{secrets.token_hex(6)}",
            "BRANCH": f"z9hG4bK-corpus-{secrets.token_hex(6)}",
            "TAG": secrets.token_hex(4),
            "BODY_LENGTH": str(len(body.replace("\n", "\r\n").encode("latin-1"))),
        }
        rendered = Template(head + sep + body).safe_substitute(fields)
        return rendered.replace("\n", "\r\n").encode("latin-1")


@dataclass
class Outcome:
    case: Case
    transport: str
    sent: bytes
    responses: list[bytes] = field(default_factory=list)
    closed: bool = False
    finished: set[bytes] = field(default_factory=set)
    """To headers (with tag) of the INVITE final responses already ACKed."""

    @property
    def statuses(self) -> list[int]:
        return [_status(r) for r in self.responses]

    @property
    def call_id(self) -> str:
        return _header(self.sent, b"call-id").decode("latin-1")

    @property
    def first_final(self) -> int | None:
        return next((s for s in self.statuses if s >= 200), None)


def _status(message: bytes) -> int:
    match = re.match(rb"SIP/2\.0 (\d{3}) ", message)
    return int(match[1]) if match else 0


def hand_written() -> list[Case]:
    """The files of the corpus, with their expectations."""
    expected = yaml.safe_load((CORPUS / "expected.yaml").read_text())
    cases = []
    for path in sorted(CORPUS.iterdir()):
        if path.suffix in (".sip", ".bin"):
            cases.append(Case(path.name, path.read_bytes(), expected[path.name]))
    return cases


_OPTIONS = Case(
    "options.sip",
    b"OPTIONS sip:100@${GATEWAY} SIP/2.0\n"
    b"Via: SIP/2.0/${TRANSPORT} ${LOCAL};rport;branch=${BRANCH}\n"
    b"Max-Forwards: 70\n"
    b"From: <sip:corpus@${LOCAL}>;tag=${TAG}\n"
    b"To: <sip:100@${GATEWAY}>\n"
    b"Call-ID: ${CALL_ID}\n"
    b"CSeq: 7 OPTIONS\n"
    b"Accept: application/sdp\n"
    b"Content-Length: 0\n\n",
)


def generated(seed: int = 7, count: int = 40) -> list[Case]:
    """Mutations of a valid OPTIONS (so that no mutant can start a call): truncated at random
    points, bytes flipped, lines dropped or duplicated, a header blown up. Any answer (or none)
    is acceptable; what matters is that the gateway survives them all."""
    rng = random.Random(seed)  # noqa: S311  (reproducible mutations, not secrets)
    base = _OPTIONS.template
    lines = base.split(b"\n")
    cases = []
    for i in range(count):
        kind = ("truncate", "flip", "drop_line", "dup_line", "blow_up", "nul")[i % 6]
        data = bytearray(base)
        if kind == "truncate":
            data = data[: rng.randrange(1, len(data))]
        elif kind == "flip":
            for _ in range(rng.randint(1, 6)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        elif kind == "drop_line":
            data = bytearray(b"\n".join(lines[:1] + rng.sample(lines[1:-2], 5) + lines[-2:]))
        elif kind == "dup_line":
            at = rng.randrange(1, len(lines) - 2)
            data = bytearray(b"\n".join(lines[:at] + [lines[at]] * 50 + lines[at:]))
        elif kind == "blow_up":
            filler = b"X" * rng.choice((1000, 3500, 8000, 20000))
            data = bytearray(base.replace(b"Accept: ", b"Accept: " + filler + b","))
        else:
            at = rng.randrange(len(data))
            data[at:at] = b"\x00" * rng.randint(1, 8)
        cases.append(
            Case(f"generated-{i:02d}-{kind}.sip", bytes(data), {"udp": "any", "tcp": "any"})
        )
    return cases


def replay(
    cases: list[Case], transport: str, gateway_port: int, *, wait_s: float = 1.5
) -> list[Outcome]:
    """Send every case at once to ``127.0.0.1:gateway_port``; collect answers for ``wait_s``."""
    gateway = f"127.0.0.1:{gateway_port}"
    selector = selectors.DefaultSelector()
    outcomes: list[Outcome] = []
    sockets: list[socket.socket] = []
    try:
        for case in cases:
            sock = _open(transport, gateway_port)
            sockets.append(sock)
            local = f"127.0.0.1:{sock.getsockname()[1]}"
            outcome = Outcome(case, transport, case.render(transport, local, gateway))
            outcomes.append(outcome)
            _send(sock, transport, outcome.sent, gateway_port)
            selector.register(sock, selectors.EVENT_READ, outcome)
        _collect(selector, transport, gateway_port, wait_s)
    finally:
        selector.close()
        for sock in sockets:
            sock.close()
    return outcomes


def _open(transport: str, port: int) -> socket.socket:
    if transport == "udp":
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
    else:
        sock = socket.create_connection(("127.0.0.1", port), timeout=2)
    sock.setblocking(False)
    return sock


def _send(sock: socket.socket, transport: str, data: bytes, port: int) -> None:
    if transport == "udp":
        sock.sendto(data[:65507], ("127.0.0.1", port))
    else:
        sock.setblocking(True)
        sock.sendall(data)
        sock.setblocking(False)


def _collect(selector: Any, transport: str, port: int, wait_s: float) -> None:
    buffers: dict[int, bytes] = {}
    deadline = time.monotonic() + wait_s
    while (left := deadline - time.monotonic()) > 0:
        for key, _ in selector.select(left):
            sock, outcome = key.fileobj, key.data
            try:
                data = sock.recv(65535)
            except OSError:
                data = b""
            if not data:
                outcome.closed = True
                selector.unregister(sock)
                continue
            pending = buffers.get(id(sock), b"") + data
            for message in _messages(pending, transport):
                outcome.responses.append(message)
                _ack_if_needed(sock, transport, port, outcome, message)
            buffers[id(sock)] = b"" if transport == "udp" else _rest(pending)


def _messages(data: bytes, transport: str) -> Iterator[bytes]:
    """Whole responses in ``data`` (a datagram is one; a stream is framed by Content-Length)."""
    if transport == "udp":
        yield data
        return
    while (end := _message_end(data)) is not None:
        yield data[:end]
        data = data[end:]


def _message_end(data: bytes) -> int | None:
    head_end = data.find(CRLF + CRLF)
    if head_end < 0:
        return None
    length = _header(data[:head_end], b"content-length") or b"0"
    end = head_end + 4 + int(length.strip() or b"0")
    return end if end <= len(data) else None


def _rest(data: bytes) -> bytes:
    while (end := _message_end(data)) is not None:
        data = data[end:]
    return data


def _ack_if_needed(
    sock: socket.socket, transport: str, port: int, outcome: Outcome, response: bytes
) -> None:
    """Finish an INVITE as a caller would: ACK a final failure (same branch); ACK a 2xx (new
    branch) and hang up at once with BYE. Each final response is handled once."""
    status = _status(response)
    if status < 200 or not _header(response, b"cseq").endswith(b"INVITE"):
        return
    to = _header(response, b"to")
    if to in outcome.finished:
        return
    outcome.finished.add(to)
    branch = None if status >= 300 else b"z9hG4bK-ack-" + secrets.token_hex(6).encode()
    _send(sock, transport, _in_dialog(outcome.sent, b"ACK", 1, to, branch), port)
    if status < 300:
        bye_branch = b"z9hG4bK-bye-" + secrets.token_hex(6).encode()
        _send(sock, transport, _in_dialog(outcome.sent, b"BYE", 2, to, bye_branch), port)


def _in_dialog(invite: bytes, method: bytes, cseq: int, to: bytes, branch: bytes | None) -> bytes:
    """ACK or BYE for ``invite`` (the To of the response; the INVITE's branch if None)."""
    via = _header(invite, b"via")
    if branch is not None:
        via = re.sub(rb"branch=[^;\s]+", b"branch=" + branch, via)
    lines = [method + b" " + invite.split(b" ", 2)[1] + b" SIP/2.0", b"Via: " + via]
    lines += [b"From: " + _header(invite, b"from"), b"To: " + to]
    lines += [b"Call-ID: " + _header(invite, b"call-id"), b"CSeq: %d " % cseq + method]
    lines += [b"Max-Forwards: 70", b"Content-Length: 0"]
    return CRLF.join(lines) + CRLF + CRLF


def _header(message: bytes, name: bytes) -> bytes:
    for line in message.split(CRLF):
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip()
    return b""
