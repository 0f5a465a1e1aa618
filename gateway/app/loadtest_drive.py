"""One load run's traffic: SIPp at the Kamailio front, the measuring window, the kill.

:class:`Drive` starts SIPp, then on schedule (seconds after SIPp starts) opens the measuring
window, optionally kills a worker, closes the window, waits for SIPp, and reads its
statistics and message trace into the report. CPU over the window is ``utime + stime`` of
the processes ``pids()`` names (the workers, or the bare probes), counted only for processes
alive at both ends (a restarted worker's new process is counted from its start).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.app.loadtest_procs import (
    Child,
    cpu_seconds,
    free_port_block,
    machine_busy,
    process_tree,
    rss_mb,
)
from gateway.app.loadtest_report import LoadReport, invite_final_codes

if TYPE_CHECKING:
    from gateway.app.loadtest import LoadOptions

__all__ = ["Drive"]


class Drive:
    """SIPp at the front for the run, with the measuring window (and the kill) on schedule."""

    def __init__(
        self,
        *,
        opts: LoadOptions,
        workdir: Path,
        front: int,
        pcap: Path,
        pids: Callable[[], dict[str, int]],
        active: Callable[[], int] | None,
        others: dict[str, int],
        log: Callable[[str], None],
        sipp_dir: Path,
    ) -> None:
        self.opts, self.workdir, self.front, self.pcap = opts, workdir, front, pcap
        self.pids, self.active, self.others, self.log = pids, active, others, log
        self.sipp_dir = sipp_dir
        self.kill: Callable[[], dict[str, Any]] | None = None
        self.killed: dict[str, Any] = {}

    def run(self, report: LoadReport) -> None:
        sipp = Child.start("sipp", self._sipp_args(), self.workdir, nice=self.opts.load_nice)
        self.others = {**self.others, "sipp": sipp.pid}
        t0 = time.monotonic()
        start, end = self.opts.window
        events = [(start, "window"), (end, "end")]
        if self.kill is not None:
            events.append((self.opts.kill_worker_s, "kill"))
        before: dict[str, Any] = {}
        for at, what in sorted(events):
            time.sleep(max(0.0, t0 + at - time.monotonic()))
            if what == "window":
                before = self._sample()
                report.active_in_window.append(self.active() if self.active else -1)
            elif what == "kill" and self.kill is not None:
                self.killed = self.kill()
                self.log(
                    f"killed worker {self.killed['worker']} ({self.killed['live_calls']} calls)"
                )
            elif what == "end":
                self._account(report, before, self._sample())
                report.active_in_window.append(self.active() if self.active else -1)
        limit = self.opts.duration_s + self.opts.call_length_s + 90
        try:
            sipp.popen.wait(max(1.0, t0 + limit - time.monotonic()))
        except subprocess.TimeoutExpired:
            report.notes.append("SIPp did not finish in time; stopped")
            sipp.stop(5)
        self._read_sipp(report)

    def _sipp_args(self) -> list[str]:
        opts = self.opts
        total = opts.calls * max(1, round(opts.duration_s / opts.call_length_s))
        sipp = shutil.which("sipp") or "sipp"
        port, media = free_port_block(1), free_port_block(4)
        return [
            sipp, f"127.0.0.1:{self.front}", "-sf", str(self.sipp_dir / "uac_capacity.xml"),
            "-s", "100", "-key", "pcap", str(self.pcap), "-d", str(int(opts.call_length_s * 1000)),
            "-m", str(total), "-l", str(opts.calls), "-r", str(opts.rate),
            "-i", "127.0.0.1", "-p", str(port), "-mi", "127.0.0.1", "-mp", str(media),
            "-nostdin", "-trace_msg", "-message_file", str(self.workdir / "sipp.messages"),
            "-trace_stat", "-fd", "1", "-stf", str(self.workdir / "sipp.csv"),
            "-trace_err", "-error_file", str(self.workdir / "sipp.errors"),
            "-timeout", f"{int(opts.duration_s + opts.call_length_s + 60)}s",
        ]  # fmt: skip

    def _sample(self) -> dict[str, Any]:
        pids = self.pids()
        kamailio = process_tree(self.workdir / "kamailio-run" / "kamailio.pid")
        return {
            "at": time.monotonic(),
            "machine": machine_busy(),
            "workers": {name: (pid, cpu_seconds(pid)) for name, pid in pids.items()},
            "others": {name: cpu_seconds(pid) for name, pid in self.others.items()},
            "kamailio": sum(cpu_seconds(pid) for pid in kamailio),
        }

    def _account(self, report: LoadReport, before: dict[str, Any], after: dict[str, Any]) -> None:
        wall = after["at"] - before["at"]
        spent = 0.0
        for name, (pid, cpu) in after["workers"].items():
            first = before["workers"].get(name)
            if first is not None and first[0] == pid:
                spent += cpu - first[1]
            else:
                report.notes.append(f"{name} restarted in the window: its CPU before is lost")
                spent += cpu
        report.window_s = wall
        report.workers_cpu_pct = 100 * spent / wall
        report.per_call_cpu_pct = report.workers_cpu_pct / self.opts.calls
        report.rss_mb = [rss_mb(pid) for pid, _ in after["workers"].values()]
        busy = after["machine"][0] - before["machine"][0]
        total = after["machine"][1] - before["machine"][1]
        report.machine_busy_pct = 100 * busy / total if total else 0.0
        others = {
            k: 100 * (v - before["others"].get(k, 0.0)) / wall for k, v in after["others"].items()
        }
        others["kamailio"] = 100 * (after["kamailio"] - before["kamailio"]) / wall
        report.other_cpu_pct = others

    def _read_sipp(self, report: LoadReport) -> None:
        stats = self.workdir / "sipp.csv"
        if stats.exists():
            lines = stats.read_text().splitlines()
            row = dict(zip(lines[0].split(";"), lines[-1].split(";"), strict=False))
            report.placed = int(row.get("TotalCallCreated", 0))
            report.succeeded = int(row.get("SuccessfulCall(C)", 0))
            report.failed = int(row.get("FailedCall(C)", 0))
        trace = self.workdir / "sipp.messages"
        if trace.exists():
            codes = invite_final_codes(trace.read_text(errors="replace"))
            report.sip_codes = dict(sorted(codes.items()))
