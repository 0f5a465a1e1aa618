"""Real processes on loopback: the emulator, the gateway, the test caller, SIPp.

Each helper starts a real ``voicegw`` (or system) process on free ports, waits until it is
ready, and stops it at the end of the test (SIGTERM, then SIGKILL). Logs go to files in the
test's temporary directory and are printed when a test fails (pytest shows captured output).

SIPp runs our scenarios from ``deploy/sipp/`` (:meth:`Stack.start_sipp`); its message trace,
``<log>`` lines, error log and statistics land in the test directory (:class:`Sipp`), and
:func:`make_pcap` writes the RTP captures it plays.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from tests.conftest import require_tool

REPO = Path(__file__).resolve().parents[2]
VOICEGW = str(Path(sys.executable).with_name("voicegw"))
SIPP_DIR = REPO / "deploy" / "sipp"


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    """A port free for both UDP and TCP on 127.0.0.1."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port")


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise TimeoutError(f"timed out waiting for {what}")


def tcp_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def stop(self, timeout: float = 15.0) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        return self.popen.returncode

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def events(self) -> list[dict[str, Any]]:
        """The JSON log lines (structlog events) of the process."""
        out: list[dict[str, Any]] = []
        for line in self.text().splitlines():
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    out.append(json.loads(line))
        return out


def start(name: str, args: list[str], workdir: Path, env: dict[str, str] | None = None) -> Proc:
    log = workdir / f"{name}.log"
    handle = log.open("wb")
    popen = subprocess.Popen(
        args,
        stdout=handle,
        stderr=subprocess.STDOUT,
        cwd=REPO,
        env={**os.environ, **(env or {})},
    )
    handle.close()
    return Proc(name, popen, log)


@dataclass
class Processes:
    """The processes one test starts (stopped in reverse order at the end), the emulator among
    them, and the CDRs the gateway side writes under ``workdir/cdr``."""

    workdir: Path
    procs: list[Proc] = field(default_factory=list)
    emulator_port: int = 0

    def start_emulator(self, scenario: str, *extra: str) -> Proc:
        path = self.workdir / "scenario.yaml"
        path.write_text(scenario)
        self.emulator_port = free_port()
        args = [VOICEGW, "--log-format", "json", "emulator", "--port", str(self.emulator_port)]
        proc = start("emulator", [*args, "--scenario", str(path), *extra], self.workdir)
        self.procs.append(proc)
        wait_for(lambda: tcp_open(self.emulator_port), 15, "the emulator to listen")
        return proc

    def cdrs(self) -> list[dict[str, Any]]:
        path = self.workdir / "cdr" / "cdr.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def wait_cdrs(self, count: int, timeout: float = 15) -> list[dict[str, Any]]:
        wait_for(lambda: len(self.cdrs()) >= count, timeout, f"{count} CDRs")
        return self.cdrs()

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()


@dataclass
class Stack(Processes):
    """An emulator and a gateway, started for one test."""

    sip_port: int = 0
    http_port: int = 0

    @property
    def gateway_uri(self) -> str:
        return f"sip:100@127.0.0.1:{self.sip_port}"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start_gateway(self, graph: str, *extra: str, env: dict[str, str] | None = None) -> Proc:
        path = self.workdir / "graph.yaml"
        path.write_text(graph)
        self.sip_port, self.http_port = free_port(), free_port()
        args = [
            VOICEGW, "--log-format", "json", "serve",
            "--config", str(path),
            "--sip-host", "127.0.0.1",
            "--sip-port", str(self.sip_port),
            "--http-port", str(self.http_port),
            "--rtp-port", str(free_port()),
            "--rtp-port-range", "40",
            "--realtime-url", f"ws://127.0.0.1:{self.emulator_port}/v1/realtime",
            "--cdr-dir", str(self.workdir / "cdr"),
            "--drain-timeout", "3",
            *extra,
        ]  # fmt: skip
        proc = start("gateway", args, self.workdir, env)
        self.procs.append(proc)
        wait_for(lambda: self.ready() is not None or proc.popen.poll() is not None, 20, "ready")
        if proc.popen.poll() is not None:
            raise RuntimeError(f"gateway exited: {proc.text()[-2000:]}")
        return proc

    def ready(self) -> dict[str, Any] | None:
        """The gateway's ``/readyz`` state (also when it answers 503, not ready); None if down."""
        try:
            with urllib.request.urlopen(f"{self.http}/readyz", timeout=1) as answer:  # noqa: S310
                return dict(json.loads(answer.read()))
        except urllib.error.HTTPError as refused:  # 503: up, but not ready (draining, unregistered)
            with contextlib.suppress(ValueError):
                return dict(json.loads(refused.read()))
            return None
        except (OSError, ValueError, http.client.HTTPException):  # e.g. a self-connected socket
            return None

    def call(
        self, *args: str, uri: str | None = None, timeout: float = 90, transcript: bool = True
    ) -> dict[str, Any]:
        """Run ``voicegw call`` to completion; its JSON summary (with the gateway's transcript
        of the call unless ``transcript`` is false: a call the gateway never saw has none)."""
        fetch = ["--gateway-http", self.http] if transcript else []
        cmd = [
            VOICEGW, "--log-format", "json", "call", uri or self.gateway_uri,
            "--json", *fetch, *args,
        ]  # fmt: skip
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, cwd=REPO, check=False
        )
        (self.workdir / "caller.log").write_text(done.stderr)
        lines = [line for line in done.stdout.splitlines() if line.startswith('{"answered"')]
        if not lines:
            raise AssertionError(
                f"caller printed no summary: {done.stdout[-1500:]}{done.stderr[-1500:]}"
            )
        return dict(json.loads(lines[-1]))

    def start_sipp(
        self,
        name: str,
        scenario: str,
        *args: str,
        to_gateway: bool = True,
        media_port: int = 0,
        timeout_s: int = 90,
    ) -> Sipp:
        """SIPp running ``deploy/sipp/<scenario>`` (as a UAC calling the gateway by default)."""
        sipp = Sipp(name, self.workdir, free_port(), media_port or free_port())
        command = [
            require_tool("sipp"),
            *([f"127.0.0.1:{self.sip_port}"] if to_gateway else []),
            "-sf", str(SIPP_DIR / scenario),
            "-i", "127.0.0.1", "-p", str(sipp.port),
            "-mi", "127.0.0.1", "-mp", str(sipp.media_port),
            "-nostdin",
            "-trace_msg", "-message_file", str(sipp.file("messages")),
            "-trace_err", "-error_file", str(sipp.file("errors")),
            "-trace_logs", "-log_file", str(sipp.file("logs")),
            "-trace_stat", "-stf", str(sipp.file("csv")),
            "-timeout", f"{timeout_s}s", "-timeout_error",
            *args,
        ]  # fmt: skip
        sipp.proc = start(name, command, self.workdir)
        self.procs.append(sipp.proc)
        return sipp

    def sipp_call(
        self, scenario: str, *args: str, calls: int = 1, media_port: int = 0, timeout: float = 60
    ) -> Sipp:
        """Run SIPp ``scenario`` against the gateway (user 100) for ``calls`` calls, to the end."""
        name = f"sipp-{Path(scenario).stem}-{len(self.procs)}"
        sipp = self.start_sipp(
            name, scenario, "-s", "100", "-m", str(calls), *args, media_port=media_port
        )
        sipp.wait(timeout)
        return sipp


@dataclass
class Sipp:
    """One SIPp process and the traces it writes into the test directory."""

    name: str
    workdir: Path
    port: int
    """Its SIP port (a UAS listens here)."""
    media_port: int
    """Where it sends RTP from and receives RTP (its SDP's ``m=audio`` port)."""
    proc: Proc | None = None

    def file(self, kind: str) -> Path:
        return self.workdir / f"{self.name}.{kind}"

    def wait(self, timeout: float) -> int:
        """Its exit status (0: every call succeeded); SIGTERM/SIGKILL and raise on timeout."""
        assert self.proc is not None
        try:
            return self.proc.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.stop(2)
            raise TimeoutError(f"{self.name} did not finish within {timeout} s") from None

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.popen.poll()

    def stats(self) -> dict[str, str]:
        """The last row of SIPp's statistics (``-trace_stat``), by column name."""
        lines = self.file("csv").read_text().splitlines()
        return dict(zip(lines[0].split(";"), lines[-1].split(";"), strict=False))

    def stat(self, column: str) -> int:
        """A cumulative counter, e.g. ``SuccessfulCall(C)`` or ``FailedCall(C)``."""
        return int(self.stats()[column])

    def messages(self) -> str:
        """Every SIP message it sent and received, as traced."""
        path = self.file("messages")
        return path.read_text(errors="replace") if path.exists() else ""

    def logs(self) -> list[str]:
        """The lines its scenario's ``<log>`` actions wrote."""
        path = self.file("logs")
        return path.read_text().splitlines() if path.exists() else []

    def sip_messages(self) -> list[str]:
        """Each SIP message it sent or received, in order, start line first."""
        found = []
        for block in re.split(r"^-{20,}.*$", self.messages(), flags=re.MULTILINE):
            lines = block.strip().splitlines()
            if lines and " message " in lines[0]:  # "UDP message sent (591 bytes):"
                found.append("\n".join(lines[1:]).strip())
        return [m for m in found if m]

    def responses(self, status: int) -> list[str]:
        """The traced responses with ``status`` (sent or received)."""
        return [m for m in self.sip_messages() if m.startswith(f"SIP/2.0 {status} ")]


def make_pcap(workdir: Path, name: str, kind: str, *args: str) -> Path:
    """Write ``name`` in ``workdir`` with ``deploy/sipp/make_pcap.py KIND ARGS``; its path."""
    out = workdir / name
    subprocess.run(
        [sys.executable, str(SIPP_DIR / "make_pcap.py"), kind, *args, "-o", str(out)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return out


P = TypeVar("P", bound=Processes)


@contextlib.contextmanager
def running(processes: P) -> Iterator[P]:
    """Yield ``processes``; at the end stop them all and print each one's log tail (pytest
    shows it when the test failed)."""
    try:
        yield processes
    finally:
        processes.stop()
        for proc in processes.procs:
            sys.stderr.write(f"----- {proc.name} log (tail) -----\n{proc.text()[-3000:]}\n")


def stack(workdir: Path) -> contextlib.AbstractContextManager[Stack]:
    return running(Stack(workdir))
