"""Webhook signatures, replay protection and payload parsing (gateway/adapters/webhook.py).

Checked against the Standard Webhooks / OpenAI SDK test vectors at their own fixed clocks, and
against the official ``openai`` package's verifier and webhook types as an independent source.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openai import InvalidWebhookSignatureError, OpenAI
from openai.types.webhooks import RealtimeCallIncomingWebhookEvent
from structlog.testing import capture_logs

from gateway.adapters.http_server import Request
from gateway.adapters.webhook import (
    IncomingCall,
    WebhookReceiver,
    WebhookRejected,
    WebhookSecret,
    WebhookVerifier,
    parse_incoming_call,
)
from gateway.core.rate_limit import RateLimit, RateLimiter
from gateway.emulator.webhooks import call_incoming_event
from gateway.errors import ConfigError

DATA = Path(__file__).resolve().parents[1] / "data"
VECTORS = json.loads((DATA / "standard-webhooks" / "vectors.json").read_text())["cases"]
EXAMPLE = DATA / "openai-realtime" / "webhooks" / "realtime.call.incoming.not-strict-json.txt"
SDK = OpenAI(api_key="sk-unused", base_url="http://127.0.0.1:9")

EXPECTED = {
    "valid": None,
    "signature_mismatch": (401, "no matching webhook signature"),
    "too_old": (401, "webhook timestamp is too old"),
    "too_new": (401, "webhook timestamp is too new"),
}


def _headers(case: dict[str, Any]) -> dict[str, str]:
    return {k: case[k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")}


@pytest.mark.parametrize("case", VECTORS, ids=[c["name"] for c in VECTORS])
def test_reference_vectors_at_their_own_clock(case: dict[str, Any]) -> None:
    """Every published vector gives its expected result when verified at its stated time."""
    verifier = WebhookVerifier(WebhookSecret(case["secret"]), tolerance_s=case["tolerance_seconds"])
    body = case["payload"].encode()
    expected = EXPECTED[case["expected_result"]]
    if expected is None:
        assert (
            verifier.verify(_headers(case), body, case["verify_at_unix_time"]) == case["webhook-id"]
        )
        return
    with pytest.raises(WebhookRejected) as caught:
        verifier.verify(_headers(case), body, case["verify_at_unix_time"])
    assert (caught.value.status, caught.value.reason) == expected


def test_signing_reproduces_the_reference_signature() -> None:
    """Our signer (standardwebhooks underneath) yields the library suites' fixed signature."""
    case = VECTORS[0]
    secret = WebhookSecret(case["secret"])
    stamp = int(case["webhook-timestamp"])
    assert secret.sign(case["webhook-id"], stamp, case["payload"]) == case["webhook-signature"]


def test_tolerance_is_300_seconds_both_ways() -> None:
    """A delivery 300 s old or early passes; 301 s fails, each with its own reason."""
    secret = WebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    now = 1_800_000_000
    for offset, ok in ((-300, True), (300, True), (-301, False), (301, False)):
        verifier = WebhookVerifier(secret)
        headers = secret.headers(f"msg_{offset}", now + offset, "{}")
        if ok:
            verifier.verify(headers, b"{}", now)
        else:
            with pytest.raises(WebhookRejected, match="too old" if offset < 0 else "too new"):
                verifier.verify(headers, b"{}", now)


def test_a_replayed_webhook_id_is_refused_until_its_window_has_passed() -> None:
    """The same webhook-id twice is 409, even re-signed with a fresh timestamp; once a replay
    would fail the timestamp check anyway, the id is forgotten (memory stays bounded)."""
    secret = WebhookSecret("raw secret without prefix")
    verifier = WebhookVerifier(secret, capacity=3)
    now = 1_800_000_000
    verifier.verify(secret.headers("wh_1", now, "{}"), b"{}", now)
    with pytest.raises(WebhookRejected) as caught:
        verifier.verify(secret.headers("wh_1", now + 5, "{}"), b"{}", now + 5)
    assert caught.value.status == 409
    later = now + 601
    verifier.verify(secret.headers("wh_1", later, "{}"), b"{}", later)


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"webhook-timestamp": "1", "webhook-signature": "v1,x"}, "missing"),
        ({"webhook-id": "wh", "webhook-signature": "v1,x"}, "missing"),
        ({"webhook-id": "wh", "webhook-timestamp": "1"}, "missing"),
        ({"webhook-id": "wh", "webhook-timestamp": "1e9", "webhook-signature": "v1,x"}, "Unix"),
        ({"webhook-id": "wh", "webhook-timestamp": "0100", "webhook-signature": "v1,x"}, "Unix"),
        ({"webhook-id": "wh", "webhook-timestamp": "100", "webhook-signature": "v2,x"}, "v1"),
    ],
)
def test_missing_or_malformed_headers_are_400(headers: dict[str, str], reason: str) -> None:
    """Absent headers, a timestamp that is not plain Unix seconds, or no v1 entry: 400."""
    verifier = WebhookVerifier(WebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
    with pytest.raises(WebhookRejected, match=reason) as caught:
        verifier.verify(headers, b"{}", 100)
    assert caught.value.status == 400


def test_a_body_that_is_not_utf8_is_400() -> None:
    """The signed content is text; bytes that are not UTF-8 cannot have been signed by OpenAI."""
    secret = WebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    headers = secret.headers("wh_1", 100, "{}")
    with pytest.raises(WebhookRejected) as caught:
        WebhookVerifier(secret).verify(headers, b"\xff\xfe", 100)
    assert caught.value.status == 400


@settings(max_examples=60, deadline=None)
@given(
    secret=st.one_of(
        st.text(min_size=1, max_size=40).filter(lambda s: not s.startswith("whsec_")),
        st.binary(min_size=1, max_size=40).map(
            lambda b: "whsec_" + __import__("base64").b64encode(b).decode()
        ),
    ),
    body=st.text(max_size=300),
    msg_id=st.from_regex(r"wh_[A-Za-z0-9]{1,30}", fullmatch=True),
)
def test_our_signatures_and_the_openai_sdk_agree(secret: str, body: str, msg_id: str) -> None:
    """For any secret (whsec_ base64 or raw UTF-8), body and id, the SDK accepts what we sign,
    and both reject the same delivery with one byte of the body changed."""
    ours = WebhookSecret(secret)
    now = int(time.time())
    headers = ours.headers(msg_id, now, body)
    SDK.webhooks.verify_signature(body, headers, secret=secret)
    WebhookVerifier(ours).verify(headers, body.encode(), now)
    tampered = body + "x"
    with pytest.raises(InvalidWebhookSignatureError):
        SDK.webhooks.verify_signature(tampered, headers, secret=secret)
    with pytest.raises(WebhookRejected):
        WebhookVerifier(ours).verify(headers, tampered.encode(), now)


def test_the_secret_never_shows_in_repr_and_bad_secrets_are_config_errors() -> None:
    """repr hides the key; an empty or non-base64 whsec_ secret is refused at start-up."""
    secret = WebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    assert "MfKQ" not in repr(secret) and "MfKQ" not in str(secret)
    for bad in ("", "whsec_", "whsec_not*base64!"):
        with pytest.raises(ConfigError):
            WebhookSecret(bad)


def _strict(text: str) -> str:
    """OpenAI's published example has trailing commas; drop them to read it as JSON."""
    return re.sub(r",(\s*[}\]])", r"\1", text)


def test_the_documented_example_parses_as_an_incoming_call() -> None:
    """OpenAI's realtime.call.incoming example yields its call id and SIP headers in order."""
    call = parse_incoming_call(_strict(EXAMPLE.read_text()).encode(), "wh_1")
    assert isinstance(call, IncomingCall)
    assert call.call_id == "rtc_479a275623b54bdb9b6fbae2f7cbd408"
    assert call.event_id == "evt_abc123" and call.webhook_id == "wh_1"
    assert call.header("cseq") == "851287 INVITE"
    assert [name for name, _ in call.sip_headers] == ["Max-Forwards", "CSeq", "Content-Type"]
    assert call.caller == "" and call.dialed == ""


def test_the_emulators_event_is_a_ga_webhook_and_round_trips() -> None:
    """The emulator's event validates as the SDK's RealtimeCallIncomingWebhookEvent (no unknown
    fields), and parses back to the same call with From/To as caller and dialed."""
    headers = [("From", "<sip:+441632960001@pbx>;tag=1"), ("To", "<sip:+442079460000@x>")]
    event = call_incoming_event("rtc_1", [*headers, ("Call-ID", "c1@pbx")], created_at=1)
    model = RealtimeCallIncomingWebhookEvent.model_validate(event)
    assert not model.model_extra and not model.data.model_extra
    call = parse_incoming_call(json.dumps(event).encode())
    assert isinstance(call, IncomingCall)
    assert (call.call_id, call.caller, call.dialed) == ("rtc_1", headers[0][1], headers[1][1])
    assert call.header("call-id") == "c1@pbx"


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"no": "type"}',
        b'{"type": "realtime.call.incoming"}',
        b'{"type": "realtime.call.incoming", "data": {"call_id": ""}}',
        b'{"type": "realtime.call.incoming", "data": {"call_id": "rtc_1", "sip_headers": [1]}}',
    ],
)
def test_malformed_payloads_are_400(body: bytes) -> None:
    """Not JSON, not an event, or a call event without a call id or with bad headers: 400."""
    with pytest.raises(WebhookRejected) as caught:
        parse_incoming_call(body)
    assert caught.value.status == 400


def test_other_event_types_are_reported_not_parsed() -> None:
    """Events other than realtime.call.incoming (live.call.incoming ...) come back by type."""
    body = json.dumps({"type": "live.call.incoming", "data": {"session_id": "rtc_1"}})
    assert parse_incoming_call(body.encode()) == "live.call.incoming"


def _delivery(call_id: str, now: int, peer: str) -> Request:
    body = json.dumps(call_incoming_event(call_id, [("From", "<sip:+15550001@x>")], created_at=1))
    headers = WebhookSecret("whsec_c2VjcmV0").headers(f"wh_{call_id}", now, body)
    return Request("POST", "/openai/webhook", "", headers, body.encode(), peer)


async def test_the_receiver_refuses_floods_with_429_before_verifying() -> None:
    """Burst 2 a peer at 1/s: a peer's third delivery gets 429 + Retry-After and is not
    verified (the same delivery passes once the bucket has refilled: it was not remembered as
    seen) nor handed on; another peer still passes; five refusals make one log line."""
    now, mono = 1_700_000_000, [50.0]
    calls: list[str] = []

    def on_call(call: IncomingCall) -> str:
        calls.append(call.call_id)
        return "accepted"

    receiver = WebhookReceiver(
        WebhookVerifier(WebhookSecret("whsec_c2VjcmV0")),
        on_call,
        clock=lambda: now,
        limiter=RateLimiter(RateLimit(1, 2), RateLimit(100, 100)),
        monotonic=lambda: mono[0],
    )
    with capture_logs() as logs:
        passed = [(await receiver(_delivery(f"rtc_{i}", now, "10.0.0.1"))).status for i in (1, 2)]
        flood = [await receiver(_delivery("rtc_3", now, "10.0.0.1")) for _ in range(5)]
        other = await receiver(_delivery("rtc_other", now, "10.0.0.2"))
        mono[0] += 1.0
        later = await receiver(_delivery("rtc_3", now, "10.0.0.1"))
    assert passed == [200, 200] and other.status == 200 and later.status == 200
    assert {(r.status, r.headers["Retry-After"]) for r in flood} == {(429, "1")}
    assert calls == ["rtc_1", "rtc_2", "rtc_other", "rtc_3"]
    limited = [e for e in logs if e["event"] == "webhook_rate_limited"]
    assert len(limited) == 1 and limited[0]["peer"] == "10.0.0.1"
    assert receiver.limited_log.counts == {"rate_limited": 5}
