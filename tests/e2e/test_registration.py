"""The gateway registers with a real Kamailio (deploy/kamailio/registrar.cfg) and takes the
calls Kamailio routes to it; a wrong password is reported, not fatal."""

from __future__ import annotations

import re
import secrets
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.e2e.harness import REPO, Proc, Stack, free_port, stack, start, wait_for

pytestmark = pytest.mark.system

TEMPLATE = REPO / "deploy" / "kamailio" / "registrar.cfg"
USER = "frontdesk"

GRAPH = """
name: registered
session: {audio_format: audio/pcmu}
phone: {greeting: "Front desk, hello."}
agents:
  - name: desk
    instructions: "You answer the phone."
    tools: [end_call]
routes: {default: desk}
"""
SCENARIO = "fallback: Sorry, I did not get that.\n"


def registrar_cfg(template: str, **values: str) -> str:
    """The template with its ``#!substdef "!NAME!value!g"`` lines set to ``values``."""
    for name, value in values.items():
        assert "!" not in value
        line = f'#!substdef "!{name}!{value}!g"'
        template, count = re.subn(
            rf'^#!substdef "!{name}!.*!g"$', line, template, flags=re.MULTILINE
        )
        assert count == 1, f"{name} is not defined in the template"
    return template


def _answers_options(port: int) -> bool:
    """Whether a SIP server on ``port`` answers an OPTIONS with 200 within 0.3 s."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(0.3)
        here = sock.getsockname()[1]
        request = (
            f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{here};branch=z9hG4bK-{secrets.token_hex(4)}\r\n"
            f"From: <sip:probe@127.0.0.1:{here}>;tag=probe\r\nTo: <sip:127.0.0.1:{port}>\r\n"
            f"Call-ID: probe-{secrets.token_hex(4)}\r\nCSeq: 1 OPTIONS\r\n"
            "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        )
        sock.sendto(request.encode(), ("127.0.0.1", port))
        try:
            return sock.recv(4096).startswith(b"SIP/2.0 200")
        except TimeoutError:
            return False


def start_kamailio(s: Stack, password: str) -> tuple[Proc, int]:
    """Kamailio in the foreground on a free port, with a cfg made from the template."""
    exe = require_tool("kamailio")
    port = free_port()
    cfg = s.workdir / "registrar.cfg"
    cfg.write_text(
        registrar_cfg(
            TEMPLATE.read_text(),
            REGISTRAR_PORT=str(port),
            REGISTRAR_USER=USER,
            REGISTRAR_PASSWORD=password,
        )
    )
    rundir = s.workdir / "kamailio-run"
    rundir.mkdir()
    args = [
        exe, "-f", str(cfg), "-DD", "-E", "-P", str(rundir / "kamailio.pid"),
        "-Y", str(rundir), "-m", "32", "-M", "4",
    ]  # fmt: skip
    proc = start("kamailio", args, s.workdir)
    s.procs.append(proc)
    wait_for(lambda: proc.popen.poll() is not None or _answers_options(port), 15, "kamailio")
    assert proc.popen.poll() is None, proc.text()[-2000:]
    return proc, port


@pytest.fixture
def calls(tmp_path: Path) -> Iterator[Stack]:
    require_tool("kamailio")
    with stack(tmp_path) as s:
        yield s


def _readyz_status(s: Stack) -> int:
    try:
        with urllib.request.urlopen(f"{s.http}/readyz", timeout=2) as answer:  # noqa: S310
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return refused.code


def test_gateway_registers_with_kamailio_and_answers_calls_routed_to_it(calls: Stack) -> None:
    """REGISTER with digest auth succeeds (/readyz: registered and ready); a call to the user
    at Kamailio is relayed to the gateway's contact and answered by the agent."""
    password = secrets.token_hex(8)
    kamailio, port = start_kamailio(calls, password)
    calls.start_emulator(SCENARIO)
    gateway = calls.start_gateway(
        GRAPH, "--register", f"sip:127.0.0.1:{port}", "--sip-user", USER,
        env={"VOICEGW_SIP_PASSWORD": password},
    )  # fmt: skip
    wait_for(lambda: (calls.ready() or {}).get("registered") is True, 10, "registration")
    state = {k: v for k, v in (calls.ready() or {}).items() if k != "security"}
    assert state == {
        "ready": True, "started": True, "registered": True, "draining": False,
        "active_calls": 0, "max_calls": 3,
    }  # fmt: skip
    assert _readyz_status(calls) == 200
    assert [e["expires_s"] for e in gateway.events() if e["event"] == "sip_registered"] == [300]
    assert f"REGISTER: {USER} at <sip:{USER}@127.0.0.1:{calls.sip_port}" in kamailio.text()

    summary = calls.call("--duration", "3", uri=f"sip:{USER}@127.0.0.1:{port}")
    assert summary["answered"] and summary["sip_codes"] == [180, 200]
    assert summary["transcript"] == ["assistant: Front desk, hello."]
    assert f"INVITE for {USER} relayed to sip:{USER}@127.0.0.1:{calls.sip_port}" in kamailio.text()
    (cdr,) = calls.wait_cdrs(1)
    assert cdr["dialed"] == USER and cdr["outcome"] == "caller_hangup"
    assert cdr["sip_call_id"] == summary["sip_call_id"]


def test_wrong_password_is_reported_and_the_gateway_keeps_running(calls: Stack) -> None:
    """Kamailio refuses the digest: the gateway logs sip_registration_failed (401), /readyz
    says 503 not registered, Kamailio has no location for it (404) and the gateway lives on."""
    kamailio, port = start_kamailio(calls, "the-right-one")
    calls.start_emulator(SCENARIO)
    gateway = calls.start_gateway(
        GRAPH, "--register", f"sip:127.0.0.1:{port}", "--sip-user", USER,
        env={"VOICEGW_SIP_PASSWORD": "a-wrong-one"},
    )  # fmt: skip

    def failures() -> list[dict[str, object]]:
        return [e for e in gateway.events() if e["event"] == "sip_registration_failed"]

    wait_for(failures, 10, "the registration failure")
    assert failures()[0]["status"] == 401 and failures()[0]["level"] == "warning"
    state = calls.ready()
    assert state is not None and state["ready"] is False and state["registered"] is False
    assert _readyz_status(calls) == 503
    assert f"wrong credentials for {USER}" in kamailio.text()

    summary = calls.call("--duration", "2", uri=f"sip:{USER}@127.0.0.1:{port}", transcript=False)
    assert not summary["answered"] and summary["sip_codes"] == [404]
    assert gateway.popen.poll() is None  # still running
    with urllib.request.urlopen(f"{calls.http}/healthz", timeout=2) as answer:  # noqa: S310
        assert answer.status == 200
    assert calls.cdrs() == []
