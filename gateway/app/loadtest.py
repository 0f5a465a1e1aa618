"""``voicegw loadtest``: N concurrent SIPp calls through Kamailio -> workers -> emulator.

Everything runs on loopback, started here and stopped at the end:

1. the emulator, scripted to talk back (a long greeting, and a long answer after the caller
   barges in), so agent audio flows down the whole call;
2. ``voicegw serve --workers W`` (the supervisor and its workers);
3. Kamailio with the front config (``deploy/kamailio/front.cfg``) and a dispatcher list of
   the W workers (OPTIONS probes every second);
4. SIPp (``deploy/sipp/uac_capacity.xml``) placing the calls at ``--rate`` per second, each
   sending continuous G.711 RTP: digital silence, with one spoken burst ``--barge-in-s``
   after the answer (the caller talking over the agent), for ``--call-s`` seconds.

Once every call is up and has settled, a measuring window runs until the first calls end:
CPU (``utime + stime``) of the worker processes only, per call; RSS per worker; the CPU of
everything else for context. Afterwards: SIPp's final responses and successes, the CDRs'
outcomes, and the gateway's own ``/metrics`` (added latency per direction, cut to silence,
frames, drops, loop lag). ``--kill-worker-s`` SIGKILLs the busiest worker mid-run.
``--baseline`` repeats the same load against bare pjsua2 answering processes (the adapter's
probe: our media port, no Realtime session) behind the same Kamailio, for the ratio.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gateway.app.kamailio_config import TEMPLATE, Machine, dispatcher_list, front_config
from gateway.app.loadtest_drive import Drive
from gateway.app.loadtest_procs import Child, free_port_block, get_json, get_text, wait_for
from gateway.app.loadtest_report import LoadReport, metric_total, percentiles_ms
from gateway.app.loadtest_scenario import GRAPH, SCENARIO, caller_pcap

__all__ = ["LoadOptions", "run_load"]

DEPLOY = TEMPLATE.parents[1]
VOICEGW = [sys.executable, "-m", "gateway.app.cli", "--log-format", "json"]
_RTP_PER_WORKER = 20


@dataclass(frozen=True)
class LoadOptions:
    calls: int = 6
    duration_s: float = 20.0
    call_s: float | None = None
    """Each call's length (default: the duration); shorter calls are replaced as they end."""
    workers: int | None = None
    """Default: enough for ``calls`` at ``max_calls`` each."""
    max_calls: int = 3
    rate: float = 10.0
    barge_in_s: float = 4.0
    kill_worker_s: float = 0.0
    settle_s: float = 3.0
    baseline: bool = False
    workdir: Path | None = None
    emulator_args: tuple[str, ...] = ()
    load_nice: int = 10
    """Niceness of the load generators (emulator, SIPp): they stand in for the carrier and the
    model, which in production do not share the gateway's cores. 0: same priority."""

    @property
    def worker_count(self) -> int:
        return self.workers or math.ceil(self.calls / self.max_calls)

    @property
    def call_length_s(self) -> float:
        return self.call_s or self.duration_s

    @property
    def window(self) -> tuple[float, float]:
        """Measuring window, seconds after SIPp starts."""
        start = self.calls / self.rate + self.settle_s
        return start, self.duration_s - 2.0


def run_load(opts: LoadOptions, log: Callable[[str], None] = print) -> LoadReport:
    start, end = opts.window
    if end - start < 3:
        raise ValueError(
            f"a {opts.duration_s:.0f} s run has no steady window after ramping {opts.calls} "
            f"calls at {opts.rate}/s; give --duration of at least {start + 5:.0f} s"
        )
    workdir = opts.workdir or Path(tempfile.mkdtemp(prefix="voicegw-load-"))
    workdir.mkdir(parents=True, exist_ok=True)
    report = LoadReport(opts.calls, opts.duration_s, opts.worker_count, load_nice=opts.load_nice)
    pcap = caller_pcap(workdir, opts.call_length_s, opts.barge_in_s, DEPLOY / "sipp")
    log(f"load run in {workdir}")
    _gateway_phase(opts, workdir / "gateway", pcap, report, log)
    if opts.baseline:
        report.bare_per_call_cpu_pct = _bare_phase(opts, workdir / "bare", pcap, log)
    return report


# ------------------------------------------------------------------------------------- phases


@contextmanager
def _children(workdir: Path) -> Iterator[list[Child]]:
    workdir.mkdir(parents=True, exist_ok=True)
    children: list[Child] = []
    try:
        yield children
    finally:
        for child in reversed(children):
            child.stop()


def _gateway_phase(
    opts: LoadOptions, workdir: Path, pcap: Path, report: LoadReport, log: Callable[[str], None]
) -> None:
    workers = opts.worker_count
    with _children(workdir) as children:
        (workdir / "graph.yaml").write_text(GRAPH)
        (workdir / "scenario.yaml").write_text(SCENARIO)
        emu_port = free_port_block(1)
        emulator = [
            *VOICEGW, "emulator", "--port", str(emu_port),
            "--scenario", str(workdir / "scenario.yaml"), *opts.emulator_args,
        ]  # fmt: skip
        children.append(Child.start("emulator", emulator, workdir, nice=opts.load_nice))
        wait_for(lambda: get_text(f"http://127.0.0.1:{emu_port}/") is not None, 20, "emulator")
        sip, http = free_port_block(workers), free_port_block(workers + 1)
        rtp = free_port_block(workers * _RTP_PER_WORKER)
        serve = [
            *VOICEGW, "serve", "--workers", str(workers),
            "--config", str(workdir / "graph.yaml"), "--sip-host", "127.0.0.1",
            "--sip-port", str(sip), "--http-port", str(http), "--rtp-port", str(rtp),
            "--rtp-port-range", str(workers * _RTP_PER_WORKER), "--max-calls", str(opts.max_calls),
            "--realtime-url", f"ws://127.0.0.1:{emu_port}/v1/realtime",
            "--cdr-dir", str(workdir / "cdr"), "--drain-timeout", "3",
        ]  # fmt: skip
        supervisor = Child.start("gateway", serve, workdir)
        children.append(supervisor)
        readyz = f"http://127.0.0.1:{http}/readyz"

        def workers_ready() -> bool:
            state = get_json(readyz) or {}
            return len([w for w in state.get("workers", []) if w.get("ready")]) == workers

        wait_for(workers_ready, 30 + 3 * workers, f"{workers} workers")
        front = _start_front(children, workdir, [Machine("127.0.0.1", workers, sip)], opts)
        log(f"{workers} workers on SIP {sip}-{sip + workers - 1}, Kamailio on {front}")

        def pids() -> dict[str, int]:
            state = get_json(readyz) or {}
            return {f"w{w['index']}": int(w["pid"]) for w in state.get("workers", []) if w["pid"]}

        def active() -> int:
            state = get_json(readyz) or {}
            return sum(int(w.get("active_calls") or 0) for w in state.get("workers", []))

        others = {"supervisor": supervisor.pid, "emulator": children[0].pid}
        drive = Drive(
            opts=opts, workdir=workdir, front=front, pcap=pcap,
            pids=pids, active=active, others=others, log=log, sipp_dir=DEPLOY / "sipp",
        )  # fmt: skip
        if opts.kill_worker_s:
            drive.kill = lambda: _kill_busiest(readyz)
        drive.run(report)
        metrics = get_text(f"http://127.0.0.1:{http}/metrics") or ""
        _read_gateway(report, metrics, workdir / "cdr" / "cdr.jsonl", drive.killed)


def _bare_phase(opts: LoadOptions, workdir: Path, pcap: Path, log: Callable[[str], None]) -> float:
    with _children(workdir) as children:
        ports = []
        for i in range(opts.worker_count):
            probe = [
                sys.executable, "-m", "gateway.adapters.sip.probe", "answer",
                "--calls", "1000000", "--max-calls", "4",
                "--seconds", str(opts.call_length_s + 5), "--timeout", str(opts.duration_s + 600),
            ]  # fmt: skip
            child = Child.start(f"probe{i}", probe, workdir)
            children.append(child)
            ports.append(_wait_probe_port(child))
        machines = [Machine("127.0.0.1", 1, port) for port in ports]
        probes = {f"p{i}": child.pid for i, child in enumerate(children)}
        front = _start_front(children, workdir, machines, opts)
        log(f"baseline: {len(ports)} bare pjsua2 probes behind Kamailio on {front}")
        bare = LoadReport(opts.calls, opts.duration_s, len(ports))
        drive = Drive(
            opts=opts, workdir=workdir, front=front, pcap=pcap,
            pids=lambda: probes, active=None, others={}, log=log, sipp_dir=DEPLOY / "sipp",
        )  # fmt: skip
        drive.run(bare)
        log(f"baseline: {bare.succeeded}/{bare.placed} calls, {bare.per_call_cpu_pct:.2f} %/call")
        return bare.per_call_cpu_pct


def _wait_probe_port(child: Child) -> int:
    found: list[int] = []

    def ready() -> bool:
        port = _probe_port(child)
        if port is not None:
            found.append(port)
        return port is not None

    wait_for(ready, 20, f"{child.name} to listen")
    return found[0]


def _probe_port(child: Child) -> int | None:
    for line in child.log.read_text(errors="replace").splitlines():
        if line.startswith('{"event": "ready"'):
            return int(json.loads(line)["port"])
    return None


def _start_front(
    children: list[Child], workdir: Path, machines: list[Machine], opts: LoadOptions
) -> int:
    """Kamailio with the front config for ``machines``; its port once every worker is up."""
    kamailio = shutil.which("kamailio") or "/usr/sbin/kamailio"
    port = free_port_block(1)
    run_dir = workdir / "kamailio-run"
    run_dir.mkdir(exist_ok=True)
    (workdir / "dispatcher.list").write_text(dispatcher_list(machines, opts.max_calls))
    values = {
        "FRONT_PORT": str(port),
        "DISPATCHER_LIST": str(workdir / "dispatcher.list"),
        "CTL_SOCKET": str(run_dir / "ctl"),
        "PING_INTERVAL": "1",
        "INVITE_LIMIT": str(max(50, int(opts.rate * 3))),
    }
    (workdir / "kamailio.cfg").write_text(front_config(TEMPLATE.read_text(), values))
    args = [
        kamailio, "-f", str(workdir / "kamailio.cfg"), "-DD", "-E",
        "-P", str(run_dir / "kamailio.pid"), "-Y", str(run_dir), "-m", "64", "-M", "8",
    ]  # fmt: skip
    children.append(Child.start("kamailio", args, workdir))
    kamcmd = shutil.which("kamcmd") or "/usr/sbin/kamcmd"
    count = sum(m.workers for m in machines)

    def all_active() -> bool:
        done = subprocess.run(  # noqa: S603  (the system's kamcmd)
            [kamcmd, "-s", f"unix:{run_dir / 'ctl'}", "dispatcher.list"],
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout.count("FLAGS: AP") == count

    wait_for(all_active, 20, "Kamailio to see every worker up", every=0.5)
    return port


def _kill_busiest(readyz: str) -> dict[str, Any]:
    state = get_json(readyz) or {}
    workers = [w for w in state.get("workers", []) if w.get("pid")]
    victim = max(workers, key=lambda w: int(w.get("active_calls") or 0))
    os.kill(int(victim["pid"]), signal.SIGKILL)
    return {
        "worker": victim["index"],
        "pid": victim["pid"],
        "live_calls": victim.get("active_calls"),
        "wall": time.time(),
    }


def _read_gateway(report: LoadReport, metrics: str, cdr_path: Path, killed: dict[str, Any]) -> None:
    cdrs = (
        [json.loads(line) for line in cdr_path.read_text().splitlines()]
        if cdr_path.exists()
        else []
    )
    report.outcomes = dict(Counter(str(c["outcome"]) for c in cdrs))
    report.latency_ms = {
        "uplink": percentiles_ms(metrics, "voicegw_added_latency_seconds", direction="uplink"),
        "downlink": percentiles_ms(metrics, "voicegw_added_latency_seconds", direction="downlink"),
        "cut_to_silence": percentiles_ms(metrics, "voicegw_cut_to_silence_seconds"),
    }
    report.frames = {
        "in": metric_total(metrics, "voicegw_frames_total", direction="in"),
        "out": metric_total(metrics, "voicegw_frames_total", direction="out"),
        "dropped_in": metric_total(metrics, "voicegw_frames_dropped_total", direction="in"),
        "dropped_out": metric_total(metrics, "voicegw_frames_dropped_total", direction="out"),
        "late": metric_total(metrics, "voicegw_frames_late_total"),
        "barge_ins": metric_total(metrics, "voicegw_barge_ins_total"),
    }
    lag = percentiles_ms(metrics, "voicegw_event_loop_lag_seconds")
    report.loop_lag_p99_ms = lag.get("p99")
    if killed:
        index = killed["worker"]
        lost = [c for c in cdrs if any(f"worker {index} exited" in e for e in c["errors"])]
        after = [
            c for c in cdrs
            if c["outcome"] != "failed" and c["times"].get("invite", "") > _iso(killed["wall"])
        ]  # fmt: skip
        killed.update(recorded_failed=len(lost), answered_after_kill=len(after))
        killed.pop("wall", None)
        report.killed = killed


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")
