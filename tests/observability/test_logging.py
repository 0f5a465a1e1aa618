"""structlog configuration: JSON lines, bound call context, redaction of credentials."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
import structlog

from gateway.observability.logging import (
    REDACTED,
    bind_call,
    configure_logging,
    get_logger,
)


@pytest.fixture(autouse=True)
def _reset_structlog() -> Iterator[None]:
    yield
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


def _json_lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_the_bound_call_context() -> None:
    """Inside bind_call every event has call_id, agent and transport; outside it has none."""
    out = io.StringIO()
    configure_logging("json", stream=out)
    log = get_logger()
    with bind_call("call-1", agent="triage", transport="sip"):
        log.info("call_answered", sip_status=200)
    log.info("worker_idle")
    first, second = _json_lines(out)
    assert first["event"] == "call_answered"
    assert (first["call_id"], first["agent"], first["transport"]) == ("call-1", "triage", "sip")
    assert first["sip_status"] == 200
    assert first["level"] == "info"
    assert "timestamp" in first
    assert "call_id" not in second


def test_credentials_are_redacted_by_key_and_by_shape() -> None:
    """Keys like api_key/authorization/secret/password and sk-/whsec_/Bearer values never print."""
    out = io.StringIO()
    configure_logging("json", stream=out)
    get_logger().info(
        "realtime_connecting",
        api_key="sk-live-123456789abcdef",
        headers={"Authorization": "Bearer abcdefghijk", "User-Agent": "voicegw"},
        webhook_secret="whsec_abcdefghijklmnop",
        password="hunter2",
        note="retrying with sk-proj-ABCDEFGHIJKLMNOP after 1s",
        items=[{"token": "t0k3n"}],
    )
    raw = out.getvalue()
    for secret in ("sk-live", "abcdefghijk", "whsec_", "hunter2", "sk-proj", "t0k3n"):
        assert secret not in raw
    (line,) = _json_lines(out)
    assert line["api_key"] == REDACTED
    assert line["headers"] == {"Authorization": REDACTED, "User-Agent": "voicegw"}
    assert line["note"] == f"retrying with {REDACTED} after 1s"
    assert line["items"] == [{"token": REDACTED}]


def test_level_filtering_drops_debug_by_default() -> None:
    """At info level, debug events are not rendered at all."""
    out = io.StringIO()
    configure_logging("json", level="info", stream=out)
    get_logger().debug("frame_sent")
    assert out.getvalue() == ""


def test_auto_format_is_json_when_not_a_tty_and_console_forced() -> None:
    """auto picks JSON for a pipe; console renders a human line."""
    piped = io.StringIO()
    configure_logging("auto", stream=piped)
    get_logger().info("call_ended")
    assert json.loads(piped.getvalue())["event"] == "call_ended"
    structlog.reset_defaults()
    human = io.StringIO()
    configure_logging("console", stream=human)
    get_logger().info("call_ended", call_id="c9")
    text = human.getvalue()
    assert "call_ended" in text
    assert "call_id=c9" in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


def test_unknown_level_is_refused() -> None:
    """A typo in the log level is an error, not silent info."""
    with pytest.raises(ValueError, match="unknown log level 'loud'"):
        configure_logging("json", level="loud", stream=io.StringIO())
