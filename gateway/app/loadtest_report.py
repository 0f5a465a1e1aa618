"""What a load run found, and how it reads: SIP codes, CDRs, metrics, CPU, against the targets.

The SIP codes are the final responses to INVITEs that SIPp received (from its message trace),
so refusals by Kamailio count as well as the workers'. Latency percentiles come from the
gateway's own histograms (``/metrics``, summed over workers) and are bucket upper bounds.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from gateway.core.latency import quantile

__all__ = ["LoadReport", "Targets", "histogram", "invite_final_codes", "metric_total"]

_SEPARATOR = re.compile(r"^-{20,}.*$", re.MULTILINE)
_CSEQ = re.compile(r"^CSeq:\s*\d+\s+(\w+)", re.MULTILINE | re.IGNORECASE)


def invite_final_codes(trace: str) -> Counter[int]:
    """Final responses to INVITE that SIPp received, by status (from its ``-trace_msg``)."""
    codes: Counter[int] = Counter()
    for block in _SEPARATOR.split(trace):
        head, _, message = block.strip().partition("\n")
        text = message.strip()
        if "message received" not in head or not text.startswith("SIP/2.0 "):
            continue
        status = int(text[8:11])
        cseq = _CSEQ.search(text)
        if status >= 200 and cseq is not None and cseq.group(1).upper() == "INVITE":
            codes[status] += 1
    return codes


def _samples(text: str) -> Iterable[tuple[str, dict[str, str], float]]:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            yield sample.name, dict(sample.labels), float(sample.value)


def metric_total(text: str, name: str, **labels: str) -> float:
    """Sum of the samples called ``name`` whose labels include ``labels``."""
    return sum(
        value
        for sample, have, value in _samples(text)
        if sample == name and all(have.get(k) == v for k, v in labels.items())
    )


def histogram(text: str, name: str, **labels: str) -> tuple[list[float], list[int]]:
    """Bounds and per-bucket counts (last: above every bound) of histogram ``name``."""
    cumulative: dict[float, float] = {}
    for sample, have, value in _samples(text):
        if sample != f"{name}_bucket" or any(have.get(k) != v for k, v in labels.items()):
            continue
        bound = float(have["le"])
        cumulative[bound] = cumulative.get(bound, 0.0) + value
    bounds = sorted(cumulative)
    counts, previous = [], 0.0
    for bound in bounds:
        counts.append(round(cumulative[bound] - previous))
        previous = cumulative[bound]
    finite = [b for b in bounds if b != float("inf")]
    return finite, counts


def percentiles_ms(text: str, name: str, **labels: str) -> dict[str, float | None]:
    bounds, counts = histogram(text, name, **labels)
    if not counts:
        return {"p50": None, "p99": None, "count": 0}
    out: dict[str, float | None] = {"count": float(sum(counts))}
    for key, q in (("p50", 0.5), ("p99", 0.99)):
        value = quantile(bounds, counts, q)
        out[key] = None if value is None else round(value * 1000, 2)
    return out


@dataclass(frozen=True)
class Targets:
    """The issue's targets for a full run."""

    cpu_per_call_pct: float = 0.6
    bare_ratio: float = 1.3
    latency_p99_ms: float = 5.0
    cut_to_silence_ms: float = 40.0


@dataclass
class LoadReport:
    calls: int
    duration_s: float
    workers: int
    load_nice: int = 0
    """Niceness the load generators (emulator, SIPp) ran at."""
    placed: int = 0
    succeeded: int = 0
    failed: int = 0
    sip_codes: dict[int, int] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)
    window_s: float = 0.0
    active_in_window: list[int] = field(default_factory=list)
    workers_cpu_pct: float = 0.0
    """utime + stime of the worker processes over the window, % of one core."""
    per_call_cpu_pct: float = 0.0
    bare_per_call_cpu_pct: float | None = None
    other_cpu_pct: dict[str, float] = field(default_factory=dict)
    machine_busy_pct: float = 0.0
    """All CPUs busy over the window, % of the machine (100 = every core saturated)."""
    rss_mb: list[float] = field(default_factory=list)
    latency_ms: dict[str, dict[str, float | None]] = field(default_factory=dict)
    frames: dict[str, float] = field(default_factory=dict)
    loop_lag_p99_ms: float | None = None
    killed: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def success_rate(self) -> float:
        return self.succeeded / self.placed if self.placed else 0.0

    @property
    def bare_ratio(self) -> float | None:
        bare = self.bare_per_call_cpu_pct
        return self.per_call_cpu_pct / bare if bare else None

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "success_rate": self.success_rate, "bare_ratio": self.bare_ratio}

    def verdicts(self, targets: Targets = Targets()) -> list[tuple[str, bool]]:
        """Each target and whether this run met it."""
        up = self.latency_ms.get("uplink", {}).get("p99")
        down = self.latency_ms.get("downlink", {}).get("p99")
        cut = self.latency_ms.get("cut_to_silence", {}).get("p99")
        dropped = self.frames.get("dropped_in", 0) + self.frames.get("dropped_out", 0)
        out = [
            ("0 failed calls", self.failed == 0 and self.placed > 0),
            ("0 dropped frames", dropped == 0),
            (
                f"gateway <= {targets.cpu_per_call_pct} % of a core per call",
                self.per_call_cpu_pct <= targets.cpu_per_call_pct,
            ),
            (
                f"p99 added latency <= {targets.latency_p99_ms} ms each way",
                up is not None and down is not None and max(up, down) <= targets.latency_p99_ms,
            ),
            (
                f"barge-in to silence <= {targets.cut_to_silence_ms} ms (p99)",
                cut is not None and cut <= targets.cut_to_silence_ms,
            ),
        ]
        if self.bare_ratio is not None:
            out.append(
                (
                    f"<= {targets.bare_ratio}x bare pjsua2 CPU per call",
                    self.bare_ratio <= targets.bare_ratio,
                )
            )
        return out

    def render(self) -> str:
        lines = [
            f"{self.calls} concurrent calls x {self.duration_s:.0f} s, {self.workers} workers",
            f"  calls        {self.succeeded}/{self.placed} succeeded "
            f"({100 * self.success_rate:.1f} %), {self.failed} failed",
            f"  SIP finals   {_pairs(self.sip_codes)}",
            f"  CDR outcomes {_pairs(self.outcomes)}",
            f"  CPU          workers {self.workers_cpu_pct:.1f} % of a core over "
            f"{self.window_s:.0f} s = {self.per_call_cpu_pct:.2f} % per call"
            + (
                f"; bare pjsua2 {self.bare_per_call_cpu_pct:.2f} % per call, "
                f"ratio {self.bare_ratio:.2f}x"
                if self.bare_per_call_cpu_pct
                else ""
            ),
            f"  machine      {self.machine_busy_pct:.0f} % busy; "
            + ", ".join(f"{k} {v:.1f} %" for k, v in self.other_cpu_pct.items())
            + (f" (emulator and SIPp at nice {self.load_nice})" if self.load_nice else ""),
            f"  calls up     {self.active_in_window} (start, end of window)",
            f"  RSS/worker   {_spread(self.rss_mb)} MiB",
        ]
        for name, label in (
            ("uplink", "uplink  "),
            ("downlink", "downlink"),
            ("cut_to_silence", "cut->sil"),
        ):
            q = self.latency_ms.get(name, {})
            lines.append(f"  {label}     p50 <= {q.get('p50')} ms, p99 <= {q.get('p99')} ms")
        lines.append(f"  frames       {_pairs(self.frames)}")
        lines.append(f"  loop lag     p99 <= {self.loop_lag_p99_ms} ms")
        if self.killed:
            lines.append(f"  killed       {_pairs(self.killed)}")
        lines.extend(f"  note         {note}" for note in self.notes)
        lines.append("targets")
        lines.extend(f"  {'meets ' if ok else 'MISSES'} {what}" for what, ok in self.verdicts())
        return "\n".join(lines)


def _pairs(values: Mapping[Any, Any]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in values.items()) or "-"


def _spread(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{min(values):.0f}-{max(values):.0f} (mean {sum(values) / len(values):.0f})"
