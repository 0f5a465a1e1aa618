"""Credentials never reach logs or call records, whatever the gateway does with them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.e2e.harness import free_port, stack

pytestmark = pytest.mark.system

API_KEY = "sk-proj-TESTSECRETKEY0123456789abcdef"
SIP_PASSWORD = "reg-Pa55w0rd-never-logged"
INBOUND_PASSWORD = "inbound-Pa55-never-logged"

GRAPH = """
session: {audio_format: audio/pcmu}
phone: {greeting: "Hello."}
agents: [{name: desk, instructions: "Desk."}]
routes: {default: desk}
"""
SCENARIO = 'caller_transcripts: ["hello"]\nfallback: "Hi there."\n'


def _everything_written(root: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in root.rglob("*") if p.is_file())


def test_secrets_stay_out_of_logs_and_records(tmp_path: Path) -> None:
    """With an API key, a REGISTER password and an inbound digest password in the environment,
    calls (one challenged, one served) leave no trace of any of them in any file."""
    require_tool("espeak-ng")
    env = {
        "OPENAI_API_KEY": API_KEY,
        "VOICEGW_SIP_PASSWORD": SIP_PASSWORD,
        "VOICEGW_INBOUND_AUTH_PASSWORD": INBOUND_PASSWORD,
        "VOICEGW_LOG_LEVEL": "debug",
    }
    for part in ("challenged", "served"):
        (tmp_path / part).mkdir()
    dead_registrar = f"sip:127.0.0.1:{free_port()}"
    with stack(tmp_path / "challenged") as s:
        s.start_emulator(SCENARIO)
        s.start_gateway(
            GRAPH, "--register", dead_registrar, "--sip-user", "gw",
            "--inbound-auth-user", "pbx", env=env,
        )  # fmt: skip
        refused = s.call("--duration", "5")
        assert not refused["answered"]
        assert 401 in refused["sip_codes"] or refused["reason"].startswith("401")
    with stack(tmp_path / "served") as s:
        s.start_emulator(SCENARIO)
        s.start_gateway(GRAPH, env=env)
        served = s.call("--say", "Hello there.", "--duration", "8")
        assert served["answered"]
        s.wait_cdrs(1)
    written = _everything_written(tmp_path)
    assert "realtime_connected" in written  # the key was used
    for secret in (API_KEY, SIP_PASSWORD, INBOUND_PASSWORD):
        assert secret not in written
