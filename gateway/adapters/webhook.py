"""OpenAI webhooks: Standard Webhooks signatures, replay protection, ``realtime.call.incoming``.

A delivery is a POST with three headers (``webhook-id``, ``webhook-timestamp``,
``webhook-signature``: space-separated ``v1,<base64>`` entries) over the raw body. The signature
is HMAC-SHA256 of ``"{id}.{timestamp}.{body}"``; the key is the base64-decoded part of a
``whsec_`` secret, or the raw UTF-8 bytes of any other secret (as OpenAI's SDKs do). The HMAC and
its encoding come from ``standardwebhooks`` (the scheme's reference library); the clock, the
tolerance (300 s both ways) and the replay cache are ours, so they are tested with a fixed clock.

:class:`WebhookReceiver` is the HTTP route: admit (rate limit), verify, then parse, then hand a
``realtime.call.incoming`` to the application and answer at once (2xx); other event types are
acknowledged and ignored, since a non-2xx answer only makes OpenAI retry. Refusals::

    429  over the rate limit, per source address or overall (Retry-After); checked before
         anything else, so a flood costs no HMAC; logged at most once a second
    400  missing or malformed headers, malformed JSON or payload, body not UTF-8
    401  no matching signature, timestamp outside the tolerance
    409  a webhook-id already seen (a replay)
    413  body over the server's limit (the HTTP server refuses it unread)

Secrets never reach a log line: :class:`WebhookSecret` hides itself in ``repr``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import math
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from standardwebhooks.webhooks import EmptyWebhookSecretError, Webhook

from gateway.adapters.http_server import Request, Response
from gateway.core.rate_limit import RateLimitedLog, RateLimiter
from gateway.errors import ConfigError, ConfigIssue, GatewayError

__all__ = [
    "CALL_INCOMING",
    "IncomingCall",
    "WebhookReceiver",
    "WebhookRejected",
    "WebhookSecret",
    "WebhookVerifier",
    "parse_incoming_call",
]

log = structlog.get_logger()

CALL_INCOMING = "realtime.call.incoming"
TOLERANCE_S = 300
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_PREFIX = "whsec_"


class WebhookRejected(GatewayError):
    """A delivery is refused; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class WebhookSecret:
    """The signing key of a webhook endpoint (``whsec_<base64>`` or a raw string)."""

    __slots__ = ("_webhook",)

    def __init__(self, secret: str) -> None:
        try:
            if secret.startswith(_PREFIX):
                key = secret[len(_PREFIX) :]
                base64.b64decode(key + "=" * (-len(key) % 4), validate=True)  # fail early
                self._webhook = Webhook(secret)  # the library strips the prefix and decodes
            else:
                self._webhook = Webhook(secret.encode("utf-8"))  # raw bytes, as OpenAI does
        except (binascii.Error, ValueError, EmptyWebhookSecretError):
            problem = "webhook secret is empty or not whsec_<base64>"
            raise ConfigError([ConfigIssue("OPENAI_WEBHOOK_SECRET", None, "", problem)]) from None

    def __repr__(self) -> str:
        return "WebhookSecret(***)"

    def sign(self, msg_id: str, timestamp: int, body: str) -> str:
        """The ``v1,<base64>`` signature of one delivery."""
        return self._webhook.sign(msg_id, datetime.fromtimestamp(timestamp, UTC), body)

    def headers(self, msg_id: str, timestamp: int, body: str) -> dict[str, str]:
        """The three Standard Webhooks headers for a delivery of ``body``."""
        return {
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": self.sign(msg_id, timestamp, body),
        }


class WebhookVerifier:
    """Checks deliveries: headers, timestamp window, signature, then the replay cache."""

    def __init__(
        self, secret: WebhookSecret, *, tolerance_s: int = TOLERANCE_S, capacity: int = 100_000
    ) -> None:
        self._secret = secret
        self._tolerance = tolerance_s
        self._capacity = capacity
        self._seen: OrderedDict[str, float] = OrderedDict()

    def verify(self, headers: Mapping[str, str], body: bytes, now: float) -> str:
        """The delivery's ``webhook-id`` if it is authentic and new; else WebhookRejected.

        ``headers`` have lower-case names; ``now`` is the Unix time.
        """
        msg_id, timestamp, signatures = _signature_headers(headers)
        if now - timestamp > self._tolerance:
            raise WebhookRejected(401, "webhook timestamp is too old")
        if timestamp - now > self._tolerance:
            raise WebhookRejected(401, "webhook timestamp is too new")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise WebhookRejected(400, "webhook body is not UTF-8") from None
        expected = self._secret.sign(msg_id, timestamp, text).encode()
        if not any(hmac.compare_digest(expected, s.encode()) for s in signatures):
            raise WebhookRejected(401, "no matching webhook signature")
        self._remember(msg_id, now)
        return msg_id

    def _remember(self, msg_id: str, now: float) -> None:
        seen = self._seen
        while seen and next(iter(seen.values())) < now:
            seen.popitem(last=False)
        if msg_id in seen:
            raise WebhookRejected(409, "webhook-id already seen")
        # any timestamp still inside the window is at most now + tolerance; keep the id until
        # a replay of it would fail the timestamp check anyway
        seen[msg_id] = now + 2 * self._tolerance
        if len(seen) > self._capacity:
            seen.popitem(last=False)


def _signature_headers(headers: Mapping[str, str]) -> tuple[str, int, list[str]]:
    msg_id = headers.get("webhook-id", "").strip()
    stamp = headers.get("webhook-timestamp", "").strip()
    signature = headers.get("webhook-signature", "").strip()
    if not (msg_id and stamp and signature):
        raise WebhookRejected(400, "missing webhook-id, webhook-timestamp or webhook-signature")
    if _TIMESTAMP.fullmatch(stamp) is None or str(int(stamp)) != stamp:
        raise WebhookRejected(400, "webhook-timestamp is not Unix seconds")
    signatures = [part for part in signature.split() if part.startswith("v1,")]
    if not signatures:
        raise WebhookRejected(400, "webhook-signature has no v1 signature")
    return msg_id, int(stamp), signatures


@dataclass(frozen=True, slots=True)
class IncomingCall:
    """A ``realtime.call.incoming`` event: the pending call and its INVITE's headers."""

    call_id: str
    event_id: str
    webhook_id: str
    sip_headers: tuple[tuple[str, str], ...]

    def header(self, name: str) -> str:
        """The first value of SIP header ``name`` (case-insensitive), or ``""``."""
        wanted = name.lower()
        return next((v for n, v in self.sip_headers if n.lower() == wanted), "")

    @property
    def caller(self) -> str:
        return self.header("From")

    @property
    def dialed(self) -> str:
        return self.header("To")


def parse_incoming_call(body: bytes, webhook_id: str = "") -> IncomingCall | str:
    """The call of a ``realtime.call.incoming`` payload, or the type of any other event.

    Raises WebhookRejected (400) when the payload is not what the GA types say.
    """
    try:
        event = json.loads(body)
    except ValueError:
        raise WebhookRejected(400, "webhook body is not JSON") from None
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        raise WebhookRejected(400, "webhook body is not an event object")
    if event["type"] != CALL_INCOMING:
        return str(event["type"])
    data = event.get("data")
    if not isinstance(data, dict):
        raise WebhookRejected(400, "realtime.call.incoming without data")
    call_id = data.get("call_id")
    if not isinstance(call_id, str) or not call_id:
        raise WebhookRejected(400, "realtime.call.incoming without data.call_id")
    return IncomingCall(
        call_id=call_id,
        event_id=str(event.get("id") or ""),
        webhook_id=webhook_id,
        sip_headers=_sip_headers(data.get("sip_headers")),
    )


def _sip_headers(raw: Any) -> tuple[tuple[str, str], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(
        isinstance(h, dict) and isinstance(h.get("name"), str) and isinstance(h.get("value"), str)
        for h in raw
    ):
        raise WebhookRejected(400, "data.sip_headers is not a list of {name, value}")
    return tuple((h["name"], h["value"]) for h in raw)


class WebhookReceiver:
    """The ``POST /openai/webhook`` route: admit, verify, parse, hand calls on, answer at once.

    ``on_call`` must not block: it decides (start, duplicate, refuse ...) and schedules the
    work; its return value is logged and becomes the response body. ``limiter`` (keyed by the
    peer address, on the ``monotonic`` clock) refuses floods with 429 before any verification.
    """

    def __init__(
        self,
        verifier: WebhookVerifier,
        on_call: Callable[[IncomingCall], str],
        *,
        clock: Callable[[], float] = time.time,
        limiter: RateLimiter | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._verifier = verifier
        self._on_call = on_call
        self._clock = clock
        self._limiter = limiter
        self._monotonic = monotonic
        self.limited_log = RateLimitedLog(per_second=1)
        """Which 429s get a log line; its ``counts`` has them all (``rate_limited``)."""

    async def __call__(self, request: Request) -> Response:
        if self._limiter is not None:
            now = self._monotonic()
            if wait := self._limiter.check(request.peer, now):
                return self._limited(request.peer, wait, now)
        try:
            webhook_id = self._verifier.verify(request.headers, request.body, self._clock())
            found = parse_incoming_call(request.body, webhook_id)
        except WebhookRejected as exc:
            log.warning("webhook_rejected", status=exc.status, reason=exc.reason, peer=request.peer)
            return Response.text(exc.status, exc.reason + "\n")
        if isinstance(found, str):
            log.info("webhook_ignored", webhook_id=webhook_id, type=found)
            return Response.text(200, "ignored\n")
        log.info("webhook_received", webhook_id=webhook_id, call_id=found.call_id)
        return Response.text(200, self._on_call(found) + "\n")

    def _limited(self, peer: str, wait: float, now: float) -> Response:
        retry = max(1, math.ceil(wait))
        fields = {"status": 429, "peer": peer, "retry_after": retry}
        if (line := self.limited_log.note("rate_limited", fields, now)) is not None:
            log.warning("webhook_rate_limited", **line)
        headers = {"Retry-After": str(retry)}
        return Response(429, b"too many webhook requests\n", headers=headers)
