"""Stateless answers to requests pjsip dropped: who gets one, which status, what it echoes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.core.sip_reject import Reply, reply_to_dropped

REQUEST = (
    "OPTIONS sip:100@10.0.0.1 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.7:5070;rport;branch=z9hG4bK-1\r\n"
    "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-0\r\n"
    "Max-Forwards: 70\r\n"
    "From: <sip:alice@example.com>;tag=a1\r\n"
    "To: <sip:100@10.0.0.1>\r\n"
    "Call-ID: c-1\r\n"
    "CSeq: abc OPTIONS\r\n"
    "Content-Length: 0\r\n\r\n"
)


def _reply(text: str, **kwargs: bool) -> Reply | None:
    return reply_to_dropped(text.encode("latin-1"), tag="t0", **kwargs)


def _lines(reply: Reply | None) -> list[str]:
    assert reply is not None
    return reply.message.decode("latin-1").split("\r\n")


def test_a_request_with_a_bad_header_gets_400_echoing_what_the_peer_needs() -> None:
    """400 with every Via in order, From, To with a tag added, Call-ID and CSeq as sent."""
    lines = _lines(_reply(REQUEST))
    assert lines[0] == "SIP/2.0 400 Bad Request"
    assert lines[1:7] == [
        "Via: SIP/2.0/UDP 192.0.2.7:5070;rport;branch=z9hG4bK-1",
        "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-0",
        "From: <sip:alice@example.com>;tag=a1",
        "To: <sip:100@10.0.0.1>;tag=t0",
        "Call-ID: c-1",
        "CSeq: abc OPTIONS",
    ]
    assert lines[-3:] == ["Content-Length: 0", "", ""]


def test_the_reply_goes_to_the_top_via() -> None:
    """Datagram destination: the top Via's sent-by; ``received`` and ``rport=N`` win."""
    reply = _reply(REQUEST)
    assert reply is not None
    assert (reply.transport, reply.host, reply.port, reply.method) == (
        "UDP",
        "192.0.2.7",
        5070,
        "OPTIONS",
    )
    moved = _reply(REQUEST.replace(";rport;", ";received=198.51.100.2;rport=6000;"))
    assert moved is not None and (moved.host, moved.port) == ("198.51.100.2", 6000)
    tls = _reply(REQUEST.replace("SIP/2.0/UDP 192.0.2.7:5070", "SIP/2.0/TLS [2001:db8::7]"))
    assert tls is not None and (tls.transport, tls.host, tls.port) == ("TLS", "2001:db8::7", 5061)


def test_a_host_name_in_via_gives_no_datagram_address() -> None:
    """No DNS here: a named sent-by leaves ``host`` empty (only a stream reply can go)."""
    reply = _reply(REQUEST.replace("192.0.2.7:5070", "pbx.example.com:5070"))
    assert reply is not None and reply.host == ""


def test_missing_mandatory_headers_are_named_in_a_warning() -> None:
    """400 says which of Via/From/To/Call-ID/CSeq was missing."""
    text = REQUEST.replace("Call-ID: c-1\r\n", "").replace("To: <sip:100@10.0.0.1>\r\n", "")
    assert 'Warning: 399 voicegw "missing To, Call-ID"' in _lines(_reply(text))


def test_version_and_overflow_have_their_own_statuses() -> None:
    """A version other than SIP/2.0 gets 505; a message that overflowed the buffer 513."""
    assert _lines(_reply(REQUEST.replace(" SIP/2.0\r\n", " SIP/3.0\r\n", 1)))[0] == (
        "SIP/2.0 505 Version Not Supported"
    )
    assert _lines(_reply(REQUEST, overflow=True))[0] == "SIP/2.0 513 Message Too Large"


def test_compact_and_folded_headers_are_understood() -> None:
    """``v:``/``f:``/``t:``/``i:`` and a header continued on the next line."""
    text = (
        "FOO sip:x SIP/2.0\r\nv: SIP/2.0/TCP 10.1.1.1\r\n  ;branch=z9hG4bK-9\r\n"
        "f: <sip:a@b>;tag=1\r\nt: <sip:x>;tag=2\r\ni: id-9\r\nCSeq: 1 FOO\r\n\r\n"
    )
    lines = _lines(_reply(text))
    assert "Via: SIP/2.0/TCP 10.1.1.1 ;branch=z9hG4bK-9" in lines
    assert "To: <sip:x>;tag=2" in lines  # already tagged: kept
    assert "Call-ID: id-9" in lines


def test_what_cannot_or_must_not_be_answered_gets_nothing() -> None:
    """Responses, ACKs, garbage, no Via, an unreadable Via, a huge Via: no reply."""
    for text in (
        REQUEST.replace("OPTIONS sip:100@10.0.0.1 SIP/2.0", "SIP/2.0 200 OK"),
        REQUEST.replace("OPTIONS sip:100@10.0.0.1 SIP/2.0", "ACK sip:100@10.0.0.1 SIP/2.0"),
        "\x00\xffgarbage\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        REQUEST.replace("Via: SIP/2.0/UDP 192.0.2.7:5070;rport;branch=z9hG4bK-1\r\n", "").replace(
            "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-0\r\n", ""
        ),
        REQUEST.replace("SIP/2.0/UDP 192.0.2.7", "SIP/9.9/XYZ 192.0.2.7"),
        REQUEST.replace("branch=z9hG4bK-1", "branch=" + "z" * 2000),
        "\r\n\r\n",
        "",
    ):
        assert _reply(text) is None, text[:40]


@settings(max_examples=400, deadline=200)
@given(st.binary(max_size=3000))
def test_any_bytes_give_none_or_a_well_formed_bounded_reply(data: bytes) -> None:
    """Fuzz: never raises; a reply is a SIP/2.0 response no larger than what came in (no
    amplification) plus its status line, tag and Warning."""
    reply = reply_to_dropped(data, tag="t0")
    if reply is not None:
        assert reply.message.startswith(b"SIP/2.0 ")
        assert reply.message.endswith(b"\r\n\r\n")
        assert len(reply.message) <= len(data) + 160


@settings(max_examples=200, deadline=200)
@given(st.lists(st.sampled_from(REQUEST.split("\r\n")[1:-2]), max_size=12), st.integers(0, 300))
def test_mangled_requests_never_break_the_parser(headers: list[str], cut: int) -> None:
    """Requests with shuffled, repeated or missing headers, cut anywhere: never raises."""
    text = "\r\n".join(["OPTIONS sip:x SIP/2.0", *headers]) + "\r\n\r\n"
    reply_to_dropped(text[: len(text) - cut].encode(), tag="t0")
