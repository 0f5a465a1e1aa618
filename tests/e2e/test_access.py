"""Who may call a real ``voicegw serve``: the source allowlist and inbound digest auth.

The test caller (``voicegw call``, pjsua2) calls from 127.0.0.1. Refusals happen before the
application sees a call, and still leave a CDR (outcome ``refused_<why>``, the status in
``sip_codes``); a digest challenge (401) asks for credentials and is not a refusal on its own.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from tests.e2e.harness import REPO, VOICEGW, Stack, stack

GRAPH = """
session: {audio_format: audio/pcmu}
phone: {greeting: "Hello, access test line."}
agents: [{name: desk, instructions: "Desk."}]
routes: {default: desk}
"""
SCENARIO = 'fallback: "Hi there."\n'
PASSWORD = "inbound-Pa55-right-never-logged"
WRONG = "inbound-Pa55-wrong-never-logged"


def _everything_written(root: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in root.rglob("*") if p.is_file())


def _call_as(s: Stack, user: str, password: str) -> dict[str, Any]:
    """``Stack.call`` with digest credentials (the password through the environment)."""
    env = {**os.environ, "VOICEGW_CALL_AUTH_PASSWORD": password}
    cmd = [
        VOICEGW, "--log-format", "json", "call", s.gateway_uri, "--json",
        "--auth-user", user, "--duration", "4",
    ]  # fmt: skip
    done = subprocess.run(
        cmd, capture_output=True, text=True, timeout=60, cwd=REPO, env=env, check=False
    )
    count = len(list(s.workdir.glob("caller-*.log")))
    (s.workdir / f"caller-{count}.log").write_text(done.stderr)
    lines = [line for line in done.stdout.splitlines() if line.startswith('{"answered"')]
    assert lines, f"caller printed no summary: {done.stdout[-1500:]}{done.stderr[-1500:]}"
    return dict(json.loads(lines[-1]))


def test_a_source_outside_allow_gets_403_and_leaves_a_record(tmp_path: Path) -> None:
    """With ``--allow 192.0.2.0/24`` a call from 127.0.0.1 is refused with 403 before it is a
    call and leaves a ``refused_source_not_allowed`` CDR; with the default allowlist
    (loopback) the same call is answered."""
    for part in ("outside", "default"):
        (tmp_path / part).mkdir()
    with stack(tmp_path / "outside") as s:
        s.start_emulator(SCENARIO)
        s.start_gateway(GRAPH, "--allow", "192.0.2.0/24")
        refused = s.call("--duration", "4", transcript=False)
        (cdr,) = s.wait_cdrs(1)
    assert not refused["answered"] and refused["sip_codes"] == [403], refused
    assert cdr["outcome"] == "refused_source_not_allowed" and cdr["sip_codes"] == [403]
    assert cdr["sip_call_id"] == refused["sip_call_id"]
    with stack(tmp_path / "default") as s:
        s.start_emulator(SCENARIO)
        s.start_gateway(GRAPH)
        served = s.call("--duration", "4")
        (cdr,) = s.wait_cdrs(1)
    assert served["answered"] and 200 in served["sip_codes"], served
    assert cdr["outcome"] != "refused_source_not_allowed" and cdr["sip_codes"][-1] == 200


def test_digest_auth_lets_the_right_password_in_and_refuses_a_wrong_one(tmp_path: Path) -> None:
    """With ``--inbound-auth-user pbx``: a caller answering the 401 challenge with the right
    password is answered and hears the greeting; one with a wrong password gets 403 and a
    ``refused_auth_failed`` CDR. Each call was challenged once and has one CDR (a challenge
    leaves none of its own); neither password appears in any log or record."""
    env = {"VOICEGW_INBOUND_AUTH_PASSWORD": PASSWORD, "VOICEGW_LOG_LEVEL": "debug"}
    with stack(tmp_path) as s:
        s.start_emulator(SCENARIO)
        gateway = s.start_gateway(GRAPH, "--inbound-auth-user", "pbx", env=env)
        served = _call_as(s, "pbx", PASSWORD)
        s.wait_cdrs(1)
        wrong = _call_as(s, "pbx", WRONG)
        cdrs = s.wait_cdrs(2)
        events = gateway.events()
    assert served["answered"] and served["sip_codes"][-1] == 200, served
    assert served["received_rms_dbfs"] is not None and served["received_rms_dbfs"] > -40
    assert not wrong["answered"] and wrong["sip_codes"] == [403], wrong  # pjsua hides the 401
    by_call = {c["sip_call_id"]: c for c in cdrs}
    assert len(cdrs) == 2 and set(by_call) == {served["sip_call_id"], wrong["sip_call_id"]}
    assert by_call[served["sip_call_id"]]["sip_codes"][-1] == 200
    failed = by_call[wrong["sip_call_id"]]
    assert failed["outcome"] == "refused_auth_failed" and failed["sip_codes"] == [403]
    assert sum(e.get("event") == "call_challenged" for e in events) == 2
    written = _everything_written(tmp_path)
    assert PASSWORD not in written and WRONG not in written
