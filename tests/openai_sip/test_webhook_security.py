"""The gateway's webhook endpoint under attack, over a real loopback socket.

Forged, stale, future, replayed, header-less, malformed and oversized deliveries each get a 4xx
and start no call (no call-control request, no CDR, nothing remembered); a genuine delivery
next to them does start one. Everything the gateway logs meanwhile is captured as rendered
JSON lines: the secret, its key and the signatures never appear.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from gateway.adapters.http_client import request
from gateway.adapters.webhook import WebhookSecret
from gateway.app.openai_sip import WEBHOOK_PATH
from gateway.emulator.webhooks import call_incoming_event
from gateway.observability.logging import configure_logging
from tests.openai_sip.helpers import SECRET, chain, until
from tests.openai_sip.test_openai_sip import GRAPH

KEY_PART = SECRET.removeprefix("whsec_")


@pytest.fixture
def rendered_logs() -> Iterator[io.StringIO]:
    """Every log line as the process would print it (JSON, after redaction)."""
    out = io.StringIO()
    configure_logging("json", "debug", stream=out)
    structlog.configure(cache_logger_on_first_use=False)  # later tests reconfigure freely
    yield out
    structlog.reset_defaults()


def _delivery(
    call_id: str, *, stamp: int | None = None, msg_id: str = ""
) -> tuple[bytes, dict[str, str]]:
    event = call_incoming_event(call_id, [("From", "<sip:+15550001@x>")], created_at=1)
    body = json.dumps(event)
    stamp = int(time.time()) if stamp is None else stamp
    headers = WebhookSecret(SECRET).headers(msg_id or f"wh_{call_id}", stamp, body)
    return body.encode(), {**headers, "content-type": "application/json"}


async def test_bad_deliveries_get_4xx_and_start_nothing(
    tmp_path: Path, rendered_logs: io.StringIO
) -> None:
    """Each attack is refused with its status; only the genuine delivery starts a call (its
    accept then gets 404 from the emulator, which has no such call)."""
    async with chain(tmp_path, GRAPH, "caller_transcripts: []") as c:
        url = f"http://127.0.0.1:{c.gateway.port}{WEBHOOK_PATH}"
        now = int(time.time())
        body, good = _delivery("rtc_forged")
        attacks: list[tuple[str, bytes, dict[str, str], int]] = [
            ("bad signature", body, {**good, "webhook-signature": "v1," + "A" * 44}, 401),
            (
                "wrong secret",
                body,
                WebhookSecret("whsec_b3RoZXI=").headers("wh_x", now, body.decode()),
                401,
            ),
            ("body changed", body.replace(b"forged", b"forgex"), good, 401),
            ("stale", *_delivery("rtc_stale", stamp=now - 301), 401),
            ("future", *_delivery("rtc_future", stamp=now + 301), 401),
            ("no headers", body, {"content-type": "application/json"}, 400),
            (
                "no signature",
                body,
                {k: v for k, v in good.items() if k != "webhook-signature"},
                400,
            ),
            ("no id", body, {k: v for k, v in good.items() if k != "webhook-id"}, 400),
            (
                "no timestamp",
                body,
                {k: v for k, v in good.items() if k != "webhook-timestamp"},
                400,
            ),
            ("malformed json", *_signed(b'{"type": "realtime.call.incoming", "data": {'), 400),
            ("oversized", *_signed(b"{" + b" " * (64 * 1024) + b"}"), 413),
        ]
        for name, data, headers, status in attacks:
            answer = await request("POST", url, headers=headers, body=data)
            assert answer.status == status, name
        genuine_body, genuine = _delivery("rtc_genuine")
        assert (await request("POST", url, headers=genuine, body=genuine_body)).status == 200
        replay = await request("POST", url, headers=genuine, body=genuine_body)
        assert replay.status == 409
        await until(lambda: len(c.cdrs()) == 1, 5, "the genuine call's CDR")
        assert list(c.gateway.seen) == ["rtc_genuine"]
        (cdr,) = c.cdrs()
        assert cdr["call_id"] == "rtc_genuine" and cdr["outcome"] == "caller_gone"
    text = rendered_logs.getvalue()
    rejected = [json.loads(line) for line in text.splitlines() if "webhook_rejected" in line]
    logged = sorted(e["status"] for e in rejected)  # the 413 is refused before the route runs
    assert logged == sorted([s for *_, s in attacks if s != 413] + [409])
    assert SECRET not in text and KEY_PART not in text
    assert good["webhook-signature"] not in text and genuine["webhook-signature"] not in text


def _signed(body: bytes) -> tuple[bytes, dict[str, str]]:
    headers = WebhookSecret(SECRET).headers("wh_raw", int(time.time()), body.decode())
    return body, headers


async def test_other_event_types_are_acknowledged_and_ignored(tmp_path: Path) -> None:
    """A signed event of another type (live.call.incoming ...) gets 200 (no retries) and
    starts nothing."""
    async with chain(tmp_path, GRAPH, "caller_transcripts: []") as c:
        url = f"http://127.0.0.1:{c.gateway.port}{WEBHOOK_PATH}"
        body = json.dumps({"object": "event", "id": "evt_1", "type": "live.call.incoming",
                           "created_at": 1, "data": {"session_id": "rtc_1"}})  # fmt: skip
        headers = WebhookSecret(SECRET).headers("wh_live", int(time.time()), body)
        answer = await request("POST", url, headers=headers, body=body.encode())
        assert answer.status == 200 and answer.body == b"ignored\n"
        assert not c.gateway.seen and not c.gateway.active
