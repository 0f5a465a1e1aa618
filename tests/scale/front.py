"""Real processes for the scale tests: the emulator, gateway workers, the Kamailio front, SIPp.

Builds on :mod:`tests.e2e.harness` (processes with logs in the test's directory, SIPp runs and
their traces). :class:`Site` adds what several workers need: blocks of consecutive free ports,
``voicegw serve --workers N`` (the supervisor), standalone gateways, and Kamailio started from
``deploy/kamailio/front.cfg`` with a dispatcher list, whose state ``kamcmd`` reports.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.app.kamailio_config import TEMPLATE, Machine, dispatcher_list, front_config
from gateway.app.loadtest_procs import free_port_block, get_json, schedstat
from tests.conftest import require_tool
from tests.e2e.harness import (
    SIPP_DIR,
    VOICEGW,
    Proc,
    Processes,
    Sipp,
    free_port,
    running,
    start,
    wait_for,
)

GRAPH = """
name: scale
session: {audio_format: audio/pcmu, turn_detection: {type: server_vad}}
phone:
  greeting: >-
    Thank you for calling. Our opening hours are nine to five on weekdays and ten to two on
    Saturdays. We are closed on Sundays and public holidays, and on the first Monday of every
    month for training.
  no_input: {reprompt_after_s: 300, hangup_after_s: 600}
agents:
  - name: desk
    instructions: "You answer the phone."
    tools: [end_call]
routes: {default: desk}
"""
SCENARIO = "fallback: Sorry, I can only tell you our opening hours.\n"


@dataclass
class Front:
    """A running Kamailio front."""

    proc: Proc
    port: int
    ctl: Path

    def destinations(self) -> list[dict[str, str]]:
        """Each destination's URI, FLAGS (AP: active and probed, IP: down) and DLGLOAD."""
        done = subprocess.run(
            [require_tool("kamcmd"), "-s", f"unix:{self.ctl}", "dispatcher.list"],
            capture_output=True,
            text=True,
            check=False,
        )
        found = []
        for block in done.stdout.split("DEST: {")[1:]:
            fields = dict(re.findall(r"(URI|FLAGS|DLGLOAD): (\S+)", block))
            found.append(fields)
        return found

    def rpc(self, *command: str) -> str:
        done = subprocess.run(
            [require_tool("kamcmd"), "-s", f"unix:{self.ctl}", *command],
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout

    def log(self) -> str:
        return self.proc.text()


@dataclass
class Site(Processes):
    """Everything one scale test starts, stopped at the end."""

    def start_emulator(self, scenario: str = SCENARIO, *extra: str) -> Proc:
        return super().start_emulator(scenario, *extra)

    def serve_args(self, *extra: str) -> list[str]:
        graph = self.workdir / "graph.yaml"
        graph.write_text(GRAPH)
        return [
            VOICEGW, "--log-format", "json", "serve", "--config", str(graph),
            "--sip-host", "127.0.0.1",
            "--realtime-url", f"ws://127.0.0.1:{self.emulator_port}/v1/realtime",
            "--cdr-dir", str(self.workdir / "cdr"), "--drain-timeout", "2", *extra,
        ]  # fmt: skip

    def start_workers(self, count: int, *extra: str) -> Workers:
        """``voicegw serve --workers count``, every worker ready."""
        sip, http = free_port_block(count), free_port_block(count + 1)
        rtp = free_port_block(count * 20)
        args = self.serve_args(
            "--workers", str(count), "--sip-port", str(sip), "--http-port", str(http),
            "--rtp-port", str(rtp), "--rtp-port-range", str(count * 20), *extra,
        )  # fmt: skip
        proc = start("supervisor", args, self.workdir)
        self.procs.append(proc)
        workers = Workers(proc, sip, http, count)
        wait_for(lambda: workers.ready_count() == count or not proc_alive(proc), 40, "workers")
        if not proc_alive(proc):
            raise RuntimeError(f"supervisor exited: {proc.text()[-2000:]}")
        return workers

    def start_gateway(self, name: str, *extra: str) -> int:
        """One standalone ``voicegw serve``; its SIP port once it is ready."""
        sip, http = free_port(), free_port()
        args = self.serve_args(
            "--sip-port", str(sip), "--http-port", str(http), "--rtp-port", str(free_port()),
            "--rtp-port-range", "20", *extra,
        )  # fmt: skip
        proc = start(name, args, self.workdir)
        self.procs.append(proc)
        wait_for(lambda: get_json(f"http://127.0.0.1:{http}/readyz") is not None, 20, name)
        return sip

    def start_front(self, machines: list[Machine], *, max_calls: int = 3, **values: str) -> Front:
        """Kamailio with front.cfg for ``machines`` (probes every second)."""
        port = free_port()
        run = self.workdir / "kamailio-run"
        run.mkdir(exist_ok=True)
        listed = self.workdir / "dispatcher.list"
        listed.write_text(dispatcher_list(machines, max_calls))
        settings = {
            "FRONT_PORT": str(port),
            "DISPATCHER_LIST": str(listed),
            "CTL_SOCKET": str(run / "ctl"),
            "PING_INTERVAL": "1",
            **values,
        }
        cfg = self.workdir / "kamailio.cfg"
        cfg.write_text(front_config(TEMPLATE.read_text(), settings))
        args = [
            require_tool("kamailio"), "-f", str(cfg), "-DD", "-E", "-P", str(run / "pid"),
            "-Y", str(run), "-m", "64", "-M", "8",
        ]  # fmt: skip
        proc = start("kamailio", args, self.workdir)
        self.procs.append(proc)
        front = Front(proc, port, run / "ctl")
        wait_for((run / "ctl").exists, 10, "Kamailio's control socket")
        return front

    def sipp(
        self, name: str, target: int, *args: str, scenario: str = "uac_capacity.xml",
        address: str = "127.0.0.1", timeout_s: int = 90,
    ) -> Sipp:  # fmt: skip
        """SIPp calling ``target`` (user 100) from ``address``; running in the background."""
        sipp = Sipp(name, self.workdir, free_port(), free_port_block(4))
        command = [
            require_tool("sipp"), f"127.0.0.1:{target}", "-sf", str(SIPP_DIR / scenario),
            "-s", "100", "-i", address, "-p", str(sipp.port), "-mi", address,
            "-mp", str(sipp.media_port), "-nostdin",
            "-trace_msg", "-message_file", str(sipp.file("messages")),
            "-trace_logs", "-log_file", str(sipp.file("logs")),
            "-trace_stat", "-fd", "1", "-stf", str(sipp.file("csv")),
            "-timeout", f"{timeout_s}s", *args,
        ]  # fmt: skip
        sipp.proc = start(name, command, self.workdir)
        self.procs.append(sipp.proc)
        return sipp


@dataclass
class Workers:
    """A running supervisor and its workers."""

    proc: Proc
    sip_port: int
    http_port: int
    count: int

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def readyz(self) -> dict[str, Any]:
        return dict(get_json(f"{self.http}/readyz") or {})

    def ready_count(self) -> int:
        return sum(1 for w in self.readyz().get("workers", []) if w.get("ready"))

    def pids(self) -> list[int | None]:
        return [w["pid"] for w in self.readyz().get("workers", [])]

    def active(self) -> list[int]:
        return [int(w.get("active_calls") or 0) for w in self.readyz().get("workers", [])]

    def machine(self) -> Machine:
        return Machine("127.0.0.1", self.count, self.sip_port)


def proc_alive(proc: Proc) -> bool:
    return proc.popen.poll() is None


def make_quiet_pcap(workdir: Path, seconds: float) -> Path:
    out = workdir / "quiet.pcap"
    if not out.exists():
        subprocess.run(
            [sys.executable, str(SIPP_DIR / "make_pcap.py"), "silence",
             "--ms", str(int(seconds * 1000)), "-o", str(out)],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
    return out


def wakeups_per_second(pids: list[int], seconds: float) -> dict[int, float]:
    """How often each process's threads were put on a CPU over ``seconds``, summed per
    process (``/proc/<pid>/task/*/schedstat``, third field: timeslices run)."""

    before = {pid: schedstat(pid)[1] for pid in pids}
    started = time.monotonic()
    time.sleep(seconds)
    wall = time.monotonic() - started
    return {pid: (schedstat(pid)[1] - before[pid]) / wall for pid in pids}


def site(workdir: Path) -> contextlib.AbstractContextManager[Site]:
    return running(Site(workdir))
