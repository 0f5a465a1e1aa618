"""SIP over TLS and SRTP on ``voicegw serve``: a self-signed certificate made at test time, calls
from a pjsua2 probe over TLS (with and without SRTP), what is refused, and what is reported."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, require_tool
from tests.e2e.harness import Stack, free_port, stack, wait_for

pytestmark = pytest.mark.system

GRAPH = """
name: secure
session: {audio_format: audio/pcmu}
phone: {greeting: "Hello, this is the secure test line. How can I help you today?"}
agents: [{name: desk, instructions: "Desk."}]
routes: {default: desk}
"""
SCENARIO = 'caller_transcripts: ["hello"]\nfallback: "Hi there."\n'


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate and its key for 127.0.0.1, made now with openssl."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [require_tool("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def calls(tmp_path: Path) -> Iterator[Stack]:
    with stack(tmp_path) as s:
        yield s


def _secure_gateway(s: Stack, cert: Path, key: Path, *extra: str) -> int:
    """Emulator and a gateway with a TLS transport; the TLS port."""
    tls_port = free_port()
    s.start_emulator(SCENARIO)
    s.start_gateway(
        GRAPH, "--tls-cert", str(cert), "--tls-key", str(key), "--tls-port", str(tls_port), *extra
    )
    wait_for(lambda: (s.ready() or {}).get("ready"), 10, "the SIP side to be up")
    return tls_port


def _probe_call(uri: str, *args: str) -> list[dict[str, Any]]:
    """Call ``uri`` from a pjsua2 probe for 3 s, silent (a tone would barge in on the
    greeting); its JSON events."""
    done = subprocess.run(
        [sys.executable, "-m", "gateway.adapters.sip.probe", "call", "--to", uri,
         "--tone", "0", "--seconds", "3", "--timeout", "12", *args],
        capture_output=True, text=True, timeout=40, cwd=REPO, check=False,
    )  # fmt: skip
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def _first(events: list[dict[str, Any]], name: str) -> dict[str, Any]:
    found = [e for e in events if e["event"] == name]
    assert found, events
    return found[0]


def _gateway_events(s: Stack, name: str) -> list[dict[str, Any]]:
    return [e for e in s.procs[-1].events() if e.get("event") == name]


def test_call_over_tls_with_a_self_signed_certificate(
    calls: Stack, certificate: tuple[Path, Path]
) -> None:
    """--tls-cert/--tls-key open a TLS transport on --tls-port: a call to
    ``sip:100@host:port;transport=tls`` is answered and the caller hears the greeting; the
    startup log and /readyz report the port and the bundled OpenSSL (1.0.2k, TLS 1.2 at most)."""
    tls_port = _secure_gateway(calls, *certificate)
    security = (calls.ready() or {})["security"]
    assert security["tls_port"] == tls_port and security["srtp"] == "off"
    assert security["tls_library"].startswith("OpenSSL 1.0.2k")
    (logged,) = _gateway_events(calls, "sip_security")
    assert logged["tls_port"] == tls_port and logged["srtp_in_build"] is True

    events = _probe_call(f"sip:100@127.0.0.1:{tls_port};transport=tls", "--tls")
    assert _first(events, "media_active")["srtp"] is False
    assert _first(events, "result")["rx"]["rms"] > 300  # the greeting came through
    (cdr,) = calls.wait_cdrs(1)
    assert cdr["outcome"] == "caller_hangup" and cdr["sip_codes"] == [180, 200]
    assert cdr["counters"]["frames_out"] >= 100


def test_mandatory_srtp_secures_tls_calls_and_refuses_plain_ones(
    calls: Stack, certificate: tuple[Path, Path]
) -> None:
    """--srtp mandatory: a TLS call offering SRTP (SDES) is answered with SRTP active on both
    sides (the gateway logs it per call) and audio crosses; a plain RTP call over UDP gets 488
    from pjsua and leaves a refused_sip_stack record."""
    tls_port = _secure_gateway(calls, *certificate, "--srtp", "mandatory")
    assert (calls.ready() or {})["security"]["srtp"] == "mandatory"

    events = _probe_call(f"sip:100@127.0.0.1:{tls_port};transport=tls", "--tls", "--srtp")
    assert _first(events, "media_active")["srtp"] is True
    assert _first(events, "result")["rx"]["rms"] > 300
    assert [e["active"] for e in _gateway_events(calls, "sip_media_srtp")] == [True]

    plain = _probe_call(f"sip:100@127.0.0.1:{calls.sip_port}")
    assert [e["code"] for e in plain if e["event"] == "call_state"][-1] == 488
    records = calls.wait_cdrs(2)
    assert sorted((c["outcome"], c["sip_codes"][-1]) for c in records) == [
        ("caller_hangup", 200),
        ("refused_sip_stack", 488),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--srtp", "optional"], "--srtp needs --tls-cert: SDES keys are only exchanged over TLS"),
        (["--tls-cert", "CERT"], "--tls-cert and --tls-key go together"),
        (["--tls-cert", "/nonexistent.pem", "--tls-key", "KEY"], "not a readable file"),
    ],
    ids=["srtp-without-tls", "cert-without-key", "missing-cert"],
)
def test_tls_and_srtp_settings_are_checked_before_starting(
    certificate: tuple[Path, Path], args: list[str], message: str
) -> None:
    """Bad TLS/SRTP settings: exit 2 with a message naming the flag, before binding anything."""
    cert, key = certificate
    args = [a.replace("CERT", str(cert)).replace("KEY", str(key)) for a in args]
    done = subprocess.run(
        [str(Path(sys.executable).with_name("voicegw")), "serve", "--config",
         "agents_config/front_desk.yaml", "--realtime-url", "ws://127.0.0.1:9/v1/realtime",
         "--sip-port", str(free_port()), "--http-port", str(free_port()), *args],
        capture_output=True, text=True, timeout=30, cwd=REPO, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert message in done.stderr
