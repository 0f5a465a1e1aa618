"""``voicegw serve`` refuses bad configuration clearly and leaves nothing listening."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from tests.e2e.harness import free_port

VOICEGW = str(Path(sys.executable).with_name("voicegw"))
REPO = Path(__file__).resolve().parents[2]


def _serve(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    return subprocess.run(
        [VOICEGW, "--log-format", "json", "serve", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd=REPO,
        env={**clean, **(env or {})},
    )


def _listening(port: int, kind: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _ports() -> tuple[int, int, list[str]]:
    sip, http = free_port(), free_port()
    args = ["--sip-host", "127.0.0.1", "--sip-port", str(sip), "--http-port", str(http)]
    return sip, http, args


def test_invalid_graph_exits_2_with_file_line_and_binds_nothing(tmp_path: Path) -> None:
    """A graph with a dangling tool: exit 2, FILE:LINE on stderr, no port left bound."""
    graph = tmp_path / "g.yaml"
    graph.write_text(
        "agents:\n  - name: a\n    instructions: x\n    tools: [nope]\nroutes: {default: a}\n"
    )
    sip, http, ports = _ports()
    done = _serve("--config", str(graph), *ports, "--realtime-url", "ws://127.0.0.1:9/v1/realtime")
    assert done.returncode == 2
    assert f"{graph}:4: agents[0].tools[0]: unknown tool 'nope'" in done.stderr
    assert not _listening(sip, socket.SOCK_DGRAM)
    assert not _listening(http, socket.SOCK_STREAM)


def test_missing_realtime_settings_are_named() -> None:
    """No OPENAI_API_KEY and no --realtime-url: exit 2 saying what to set."""
    _sip, _http, ports = _ports()
    done = _serve("--config", "agents_config/front_desk.yaml", *ports)
    assert done.returncode == 2
    assert "set OPENAI_API_KEY, or --realtime-url for the emulator" in done.stderr


def test_sip_port_in_use_is_a_clear_error_and_http_is_released() -> None:
    """The SIP port is taken: exit 1 naming it; the HTTP port opened first is closed again."""
    sip, http, ports = _ports()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
        squatter.bind(("127.0.0.1", sip))
        done = _serve(
            "--config", "agents_config/front_desk.yaml", *ports,
            "--realtime-url", "ws://127.0.0.1:9/v1/realtime",
        )  # fmt: skip
    assert done.returncode == 1
    assert f"SIP port 127.0.0.1:{sip} is already in use" in done.stderr
    assert "Assertion" not in done.stderr  # no pjlib abort on the way out
    assert not _listening(http, socket.SOCK_STREAM)


def test_http_port_in_use_is_a_clear_error() -> None:
    """The HTTP port is taken: exit 1 with the OS error; SIP never started."""
    sip, http, ports = _ports()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", http))
        squatter.listen()
        done = _serve(
            "--config", "agents_config/front_desk.yaml", *ports,
            "--realtime-url", "ws://127.0.0.1:9/v1/realtime",
        )  # fmt: skip
    assert done.returncode == 1
    assert "address already in use" in done.stderr.lower()
    assert not _listening(sip, socket.SOCK_DGRAM)


def test_a_worker_orphaned_while_starting_exits_instead_of_taking_calls() -> None:
    """A worker whose supervisor died while it was starting (its parent is no longer the pid
    the supervisor gave it) stops before binding its SIP port, instead of serving calls
    nobody supervises and holding the port its replacement needs."""
    _sip, _http, ports = _ports()
    done = _serve(
        "--config", "agents_config/front_desk.yaml", *ports, "--worker-index", "0",
        "--realtime-url", "ws://127.0.0.1:9/v1/realtime",
        env={"VOICEGW_SUPERVISOR_PID": "1"},  # not our parent: we were re-parented meanwhile
    )  # fmt: skip
    assert done.returncode == -signal.SIGTERM, done.stderr[-2000:]
    assert '"event": "worker_orphaned"' in done.stdout + done.stderr
    assert "sip_ready" not in done.stdout + done.stderr


def test_a_registrar_pjsua_refuses_is_a_clear_error_and_nothing_stays_bound() -> None:
    """--register with a URI pjsua cannot use: exit 1 naming it and pjsua's reason, no
    traceback, and neither the SIP nor the HTTP port left open."""
    sip, http, ports = _ports()
    done = _serve(
        "--config", "agents_config/front_desk.yaml", *ports,
        "--realtime-url", "ws://127.0.0.1:9/v1/realtime",
        "--register", "sip:pbx example.com", "--sip-user", "2001",
        env={"VOICEGW_SIP_PASSWORD": "secret"},
    )  # fmt: skip
    assert done.returncode == 1, done.stderr[-2000:]
    assert (
        "voicegw serve: cannot register with 'sip:pbx example.com': pjsua refused it"
        " (Invalid URI (PJSIP_EINVALIDURI))"
    ) in done.stderr
    assert "Traceback" not in done.stderr
    assert "sip_object_outlived_endpoint" not in done.stdout + done.stderr
    assert not _listening(sip, socket.SOCK_DGRAM)
    assert not _listening(http, socket.SOCK_STREAM)
