"""``voicegw openai-sip`` and ``voicegw emulator --sip-port``: configuration and a real process."""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import urllib.request
from pathlib import Path

import pytest

from gateway.app.cli_openai_sip import add_openai_sip_command, openai_sip_settings
from gateway.emulator.cli import add_emulator_command, server_from_args
from gateway.emulator.cli_sip import front_from_args
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
