"""``voicegw openai-sip`` and ``voicegw emulator --sip-port``: configuration and a real process."""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from gateway.adapters.webhook import WebhookSecret
from gateway.app.cli_openai_sip import add_openai_sip_command, openai_sip_settings
from gateway.app.openai_sip import WEBHOOK_PATH
from gateway.emulator.cli import add_emulator_command, server_from_args
from gateway.emulator.cli_sip import front_from_args
from gateway.emulator.webhooks import call_incoming_event
from gateway.errors import ConfigError
from tests.e2e.harness import VOICEGW, free_port, wait_for
from tests.openai_sip.helpers import SECRET

GRAPH = "name: g\nagents:\n  - name: a\n    instructions: hi\nroutes:\n  default: a\n"


def _args(command: str, *argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers()
    add_openai_sip_command(commands)
    add_emulator_command(commands)
    return parser.parse_args([command, *argv])


def _issues(exc: pytest.ExceptionInfo[ConfigError]) -> str:
    return "\n".join(str(i) for i in exc.value.issues)


def test_the_gateway_needs_a_graph_and_a_webhook_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --config and OPENAI_WEBHOOK_SECRET every problem is reported at once; the
    OpenAI API itself also needs OPENAI_API_KEY; a malformed whsec_ secret is refused."""
    monkeypatch.delenv("OPENAI_WEBHOOK_SECRET", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("VOICEGW_CONFIG", raising=False)
    with pytest.raises(ConfigError) as caught:
        openai_sip_settings(_args("openai-sip"))
    text = _issues(caught)
    assert "--config is required" in text and "OPENAI_WEBHOOK_SECRET" in text
    assert "OPENAI_API_KEY" in text
    monkeypatch.setenv("OPENAI_WEBHOOK_SECRET", "whsec_***")
    with pytest.raises(ConfigError, match="whsec_<base64>"):
        openai_sip_settings(_args("openai-sip", "--config", "g.yaml", "--api-base", "http://x/v1",
                                  "--realtime-url", "ws://x/v1/realtime"))  # fmt: skip


def test_gateway_settings_come_from_flags_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Emulator URLs need no API key; callers allowed by flag or VOICEGW_ALLOW_CALLERS."""
    monkeypatch.setenv("OPENAI_WEBHOOK_SECRET", SECRET)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("VOICEGW_ALLOW_CALLERS", r"\+44.*, alice")
    args = _args("openai-sip", "--config", "g.yaml", "--api-base", "http://127.0.0.1:1/v1",
                 "--realtime-url", "ws://127.0.0.1:1/v1/realtime", "--max-calls", "5")  # fmt: skip
    settings = openai_sip_settings(args)
    assert settings.allow_callers == (r"\+44.*", "alice") and settings.max_calls == 5
    assert settings.api_key == "voicegw-emulator"
    assert "whsec" not in repr(settings.webhook_secret)
    flagged = openai_sip_settings(_args("openai-sip", "--config", "g.yaml", "--allow-caller",
                                        "bob", "--api-base", "http://h/v1",
                                        "--realtime-url", "ws://h/v1/realtime"))  # fmt: skip
    assert flagged.allow_callers == ("bob",)
    assert (flagged.webhook_rate, flagged.webhook_burst) == (20, 40)  # the defaults
    monkeypatch.setenv("VOICEGW_WEBHOOK_RATE", "5")
    limited = openai_sip_settings(_args("openai-sip", "--config", "g.yaml", "--webhook-burst",
                                        "7", "--webhook-total-rate", "30", "--api-base",
                                        "http://h/v1", "--realtime-url",
                                        "ws://h/v1/realtime"))  # fmt: skip
    assert (limited.webhook_rate, limited.webhook_burst) == (5, 7)
    assert (limited.webhook_total_rate, limited.webhook_total_burst) == (30, 60)
    with pytest.raises(ConfigError) as caught:
        openai_sip_settings(_args("openai-sip", "--config", "g.yaml", "--webhook-burst", "0",
                                  "--webhook-total-rate", "1", "--api-base", "http://h/v1",
                                  "--realtime-url", "ws://h/v1/realtime"))  # fmt: skip
    assert "--webhook-burst" in _issues(caught) and "--webhook-total-rate" in _issues(caught)


def test_the_emulators_sip_front_needs_a_secret_and_a_webhook_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """--sip-port without OPENAI_WEBHOOK_SECRET and --webhook-url is a configuration error;
    without --sip-port there is no SIP front at all."""
    monkeypatch.delenv("OPENAI_WEBHOOK_SECRET", raising=False)
    args = _args("emulator", "--port", "0", "--sip-port", "0")
    with pytest.raises(ConfigError) as caught:
        front_from_args(args, server_from_args(args))
    assert "OPENAI_WEBHOOK_SECRET" in _issues(caught) and "--webhook-url" in _issues(caught)
    plain = _args("emulator", "--port", "0")
    assert front_from_args(plain, server_from_args(plain)) is None


def test_the_command_serves_health_and_stops_on_sigterm(tmp_path: Path) -> None:
    """A real ``voicegw openai-sip`` process: ready on /readyz, then SIGTERM exits 0."""
    graph = tmp_path / "graph.yaml"
    graph.write_text(GRAPH)
    port = free_port()
    args = [
        VOICEGW, "--log-format", "json", "openai-sip", "--config", str(graph),
        "--http-port", str(port), "--api-base", "http://127.0.0.1:9/v1",
        "--realtime-url", "ws://127.0.0.1:9/v1/realtime", "--cdr-dir", str(tmp_path),
    ]  # fmt: skip
    env = {"OPENAI_WEBHOOK_SECRET": SECRET, "PATH": "/usr/bin:/bin"}
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        url = f"http://127.0.0.1:{port}/readyz"

        def ready() -> bool:
            try:
                with urllib.request.urlopen(url, timeout=1) as answer:
                    return bool(json.loads(answer.read())["ready"])
            except OSError:
                return False

        wait_for(ready, 15, "/readyz")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        _out, err = proc.communicate(timeout=5)
    assert SECRET.removeprefix("whsec_") not in err.decode()
    assert b"gateway_stopped" in err


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    ask = urllib.request.Request(url, body, headers, method="POST")  # noqa: S310  (loopback http)
    try:
        with urllib.request.urlopen(ask, timeout=5) as answer:  # noqa: S310  (loopback http)
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as refused:
        return refused.code, dict(refused.headers), refused.read()


def test_the_webhook_is_rate_limited_with_429_and_retry_after(tmp_path: Path) -> None:
    """A real process with ``--webhook-rate 1 --webhook-burst 3``: a flood of unsigned posts
    gets 400 for the burst, then 429 + Retry-After without being verified (only the 400s are
    logged as webhook_rejected; the 429s get few log lines); after waiting Retry-After, a
    genuine signed delivery is accepted."""
    graph = tmp_path / "graph.yaml"
    graph.write_text(GRAPH)
    port = free_port()
    args = [
        VOICEGW, "--log-format", "json", "openai-sip", "--config", str(graph),
        "--http-port", str(port), "--api-base", "http://127.0.0.1:9/v1",
        "--realtime-url", "ws://127.0.0.1:9/v1/realtime", "--cdr-dir", str(tmp_path),
        "--webhook-rate", "1", "--webhook-burst", "3",
    ]  # fmt: skip
    env = {"OPENAI_WEBHOOK_SECRET": SECRET, "PATH": "/usr/bin:/bin"}
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
    try:
        wait_for(lambda: _healthy(port), 15, "/healthz")
        junk = b'{"type": "realtime.call.incoming"}'
        answers = [_post(url, junk, {"content-type": "application/json"}) for _ in range(20)]
        statuses = [status for status, _, _ in answers]
        limited = [headers for status, headers, _ in answers if status == 429]
        body = json.dumps(call_incoming_event("rtc_after", [("From", "<sip:a@x>")], created_at=1))
        time.sleep(int(limited[-1]["Retry-After"]) if limited else 0)
        signed = WebhookSecret(SECRET).headers("wh_after", int(time.time()), body)
        genuine = _post(url, body.encode(), {**signed, "content-type": "application/json"})
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        _out, err = proc.communicate(timeout=5)
    first_400s = statuses.index(429) if 429 in statuses else len(statuses)
    assert first_400s >= 3 and set(statuses[:first_400s]) == {400}, statuses
    assert statuses.count(429) >= 10 and all(h["Retry-After"] == "1" for h in limited)
    assert genuine[0] == 200 and genuine[2] == b"accepted\n"
    lines = err.decode().splitlines()
    events = [json.loads(line)["event"] for line in lines if line.startswith("{")]
    assert events.count("webhook_rejected") == statuses.count(400)
    assert 1 <= events.count("webhook_rate_limited") < statuses.count(429)


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False
