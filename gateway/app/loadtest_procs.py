"""Process plumbing for ``voicegw loadtest``: children, ports, and what the kernel says of them.

:class:`Child` is one started process (its log in the run's directory, stopped with SIGTERM
then SIGKILL). CPU is ``utime + stime`` of every thread of a process (``/proc/<pid>/stat``,
the kernel's own accounting), memory its resident set (``VmRSS``).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "Child",
    "cpu_seconds",
    "free_port_block",
    "get_json",
    "get_text",
    "machine_busy",
    "process_tree",
    "rss_mb",
    "schedstat",
    "wait_for",
]

_TICK = os.sysconf("SC_CLK_TCK")


def _bindable(port: int) -> bool:
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_INET, kind) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def free_port_block(count: int, low: int = 20000, high: int = 60000) -> int:
    """The first of ``count`` consecutive ports free for UDP and TCP on loopback."""
    rng = random.Random()  # noqa: S311  (picking ports, not secrets)
    for _ in range(200):
        base = rng.randrange(low, high - count)
        if all(_bindable(base + i) for i in range(count)):
            return base
    raise RuntimeError(f"no block of {count} free ports")


def wait_for(check: Callable[[], bool], timeout: float, what: str, every: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(every)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def get_text(url: str, timeout: float = 3.0) -> str | None:
    """GET ``url``: the body (also of an error status), None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310  (our own loopback URLs)
            return str(answer.read().decode("utf-8", "replace"))
    except urllib.error.HTTPError as refused:
        return str(refused.read().decode("utf-8", "replace"))
    except (OSError, http.client.HTTPException):
        # HTTPException: e.g. BadStatusLine when, with nothing listening yet on a port in the
        # ephemeral range, the connection connected to itself and read back its own request
        return None


def get_json(url: str, timeout: float = 3.0) -> Any:
    text = get_text(url, timeout)
    if text is None:
        return None
    with contextlib.suppress(ValueError):
        return json.loads(text)
    return None


def cpu_seconds(pid: int) -> float:
    """utime + stime of the whole process (all threads), seconds; 0.0 if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = text.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def schedstat(pid: int) -> tuple[int, int]:
    """CPU nanoseconds and timeslices (times a thread was put on a CPU: its wake-ups) summed
    over every thread of ``pid`` (``/proc/<pid>/task/*/schedstat``); threads that end
    meanwhile are skipped."""
    ns = runs = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()
            ns, runs = ns + int(fields[0]), runs + int(fields[2])
    return ns, runs


def rss_mb(pid: int) -> float:
    """Resident set size in MiB (0.0 if the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def process_tree(pidfile: Path) -> list[int]:
    """The process whose pid is in ``pidfile`` and all its descendants (e.g. Kamailio's)."""
    try:
        root = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return []
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(parents.get(pid, []))
    return found


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs since boot (``/proc/stat``)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return float(sum(fields) - idle), float(sum(fields))


@dataclass
class Child:
    """A started process and its log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @classmethod
    def start(
        cls,
        name: str,
        args: Sequence[str],
        workdir: Path,
        env: dict[str, str] | None = None,
        *,
        nice: int = 0,
    ) -> Child:
        """Start ``args``; ``nice`` > 0 runs it (and every thread it makes) at that niceness."""
        log = workdir / f"{name}.log"
        prefix = ["nice", "-n", str(nice)] if nice else []  # nice(1) execs: the pid is the tool's
        with log.open("wb") as out:
            popen = subprocess.Popen(  # noqa: S603  (our own CLI and system tools)
                [*prefix, *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **(env or {})},
            )
        return cls(name, popen, log)

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM, then SIGKILL after ``timeout``; the exit status."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)
        return int(self.popen.returncode)

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""
