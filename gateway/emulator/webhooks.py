"""The emulator's webhook deliveries: ``realtime.call.incoming``, signed, retried, at least once.

As OpenAI does (protocol brief §5.2-5.3): a POST of the event JSON with ``content-type:
application/json``, OpenAI's ``user-agent`` and the Standard Webhooks headers. Any 2xx
acknowledges; anything else (or no answer within ``timeout_s``) is retried with the same
``webhook-id`` after ``retry_s``, doubling up to 60 s, until ``attempts`` deliveries were tried
(the real service keeps trying for up to three days). Each attempt is signed with its own
timestamp (UNVERIFIED: whether OpenAI re-signs retries; a retry after five minutes would
otherwise fail every receiver's tolerance).

Faults a gateway must survive: ``delay_ms`` holds the first delivery back (so it can arrive
after the caller hung up), ``duplicates`` delivers the same event again as separate messages
(new ``webhook-id``s), as at-least-once delivery may.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.adapters.http_client import HttpClientError, request
from gateway.adapters.webhook import CALL_INCOMING, WebhookSecret
from gateway.observability.logging import get_logger

__all__ = ["USER_AGENT", "WebhookSender", "WebhookSettings", "call_incoming_event"]

USER_AGENT = "OpenAI/1.0 (+https://platform.openai.com/docs/webhooks)"
MAX_RETRY_S = 60.0


def _log() -> Any:
    return get_logger(component="emulator")


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    url: str
    secret: WebhookSecret
    attempts: int = 6
    """Deliveries tried (the first included) until one is acknowledged with a 2xx."""
    retry_s: float = 1.0
    timeout_s: float = 5.0
    delay_ms: int = 0
    duplicates: int = 0


def call_incoming_event(
    call_id: str, sip_headers: Sequence[tuple[str, str]], *, created_at: int
) -> dict[str, Any]:
    """The ``realtime.call.incoming`` event for a pending call (the GA webhook shape)."""
    return {
        "object": "event",
        "id": f"evt_{secrets.token_hex(16)}",
        "type": CALL_INCOMING,
        "created_at": created_at,
        "data": {
            "call_id": call_id,
            "sip_headers": [{"name": n, "value": v} for n, v in sip_headers],
        },
    }


class WebhookSender:
    """Delivers events to one webhook endpoint."""

    def __init__(self, settings: WebhookSettings, *, clock: Callable[[], float] = time.time):
        self.settings = settings
        self._clock = clock
        self.acknowledged: list[str] = []
        """webhook-ids acknowledged with a 2xx, in order (tests read it)."""

    async def fire(self, event: dict[str, Any]) -> None:
        """Deliver ``event`` (and its configured duplicates) until acknowledged or given up."""
        if self.settings.delay_ms:
            await asyncio.sleep(self.settings.delay_ms / 1000)
        body = json.dumps(event, separators=(",", ":"))
        copies = [self.deliver(body) for _ in range(1 + self.settings.duplicates)]
        await asyncio.gather(*copies)

    async def deliver(self, body: str, webhook_id: str | None = None) -> int | None:
        """One message: the status that acknowledged it, or None once the attempts ran out."""
        msg_id = webhook_id or f"wh_{secrets.token_hex(16)}"
        wait = self.settings.retry_s
        for attempt in range(1, self.settings.attempts + 1):
            status = await self._attempt(msg_id, body, attempt)
            if status is not None and 200 <= status < 300:
                self.acknowledged.append(msg_id)
                return status
            if attempt < self.settings.attempts:
                await asyncio.sleep(wait)
                wait = min(wait * 2, MAX_RETRY_S)
        _log().warning("webhook_given_up", webhook_id=msg_id, attempts=self.settings.attempts)
        return None

    async def _attempt(self, msg_id: str, body: str, attempt: int) -> int | None:
        stamp = int(self._clock())
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            **self.settings.secret.headers(msg_id, stamp, body),
        }
        try:
            answer = await request(
                "POST",
                self.settings.url,
                headers=headers,
                body=body.encode(),
                timeout_s=self.settings.timeout_s,
                max_body=64 * 1024,
            )
        except HttpClientError as exc:
            _log().info("webhook_failed", webhook_id=msg_id, attempt=attempt, error=str(exc))
            return None
        _log().info("webhook_sent", webhook_id=msg_id, attempt=attempt, status=answer.status)
        return answer.status
