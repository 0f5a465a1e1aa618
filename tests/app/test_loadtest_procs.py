"""The load test's process helpers: polling a port that answers nonsense is 'not up yet';
niced children."""

from __future__ import annotations

import os
import socket
import sys
import threading
from pathlib import Path

from gateway.app.loadtest_procs import Child, get_json, get_text


def _nonsense_server() -> tuple[socket.socket, threading.Thread]:
    """Answers one connection with a line that is not HTTP (as a socket connected to itself
    does: it reads back its own request line), then closes."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(1024)
            conn.sendall(b"GET /readyz HTTP/1.1\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return server, thread


def test_a_non_http_answer_is_none_not_an_exception() -> None:
    server, thread = _nonsense_server()
    with server:
        port = server.getsockname()[1]
        assert get_text(f"http://127.0.0.1:{port}/readyz", timeout=2) is None
    thread.join(2)


def test_nothing_listening_is_none() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connection refused
        assert get_json(f"http://127.0.0.1:{port}/readyz", timeout=1) is None


def test_a_niced_child_and_its_threads_run_at_that_niceness(tmp_path: Path) -> None:
    """Load generators run niced so they do not take the gateway's cores first; threads the
    child starts later inherit it."""
    script = (
        "import os, threading, time\n"
        "seen = []\n"
        "t = threading.Thread(target=lambda: seen.append(os.getpriority(os.PRIO_PROCESS, 0)))\n"
        "t.start(); t.join()\n"
        "print(os.getpriority(os.PRIO_PROCESS, 0), seen[0], flush=True)\n"
    )
    child = Child.start("niced", [sys.executable, "-c", script], tmp_path, nice=7)
    assert child.popen.wait(20) == 0
    base = os.getpriority(os.PRIO_PROCESS, 0)
    assert child.log.read_text().split() == [str(base + 7)] * 2
    plain = Child.start("plain", [sys.executable, "-c", script], tmp_path)
    assert plain.popen.wait(20) == 0
    assert plain.log.read_text().split() == [str(base)] * 2
