"""The load test's process helpers: polling a port that answers nonsense is 'not up yet'."""

from __future__ import annotations

import socket
import threading

from gateway.app.loadtest_procs import get_json, get_text


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
