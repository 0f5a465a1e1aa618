"""One ``/metrics`` for all worker processes: the supervisor sums what the workers report.

Why the supervisor scrapes its workers rather than prometheus-client's multiprocess mode:
every worker keeps plain in-process metrics (the media histograms are filled from the 20 ms
callbacks with a bisect and an addition, and exported by a collector only when scraped; the
multiprocess mode would write every observation to a shared mmap file and cannot export
custom collectors at all), nothing runs while nobody scrapes, and each worker's own
``/metrics`` stays available for a closer look.

Summing is by sample name and labels, across the workers' latest answers and the
supervisor's own registry (worker restarts, calls recorded for a crashed worker). A worker
that exits takes its counters with it; the last values scraped from it are kept
(:meth:`MetricsMerger.retire`), so totals never go backwards when a worker restarts from
zero. What a worker counted after its last scrape and before it crashed is lost; its calls
still are counted, as ``failed``, by the supervisor. Gauges of a dead worker are dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import prometheus_client
from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

__all__ = ["MetricsMerger"]

SampleKey = tuple[str, tuple[tuple[str, str], ...]]


@dataclass
class _Family:
    name: str
    kind: str
    doc: str
    samples: dict[SampleKey, float] = field(default_factory=dict)


Families = dict[str, _Family]
_KEPT_WHEN_RETIRED = frozenset({"counter", "histogram", "summary"})


def _families(metrics: Iterable[Metric]) -> Families:
    out: Families = {}
    for metric in metrics:
        family = out.setdefault(
            metric.name, _Family(metric.name, metric.type, metric.documentation)
        )
        for sample in metric.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            family.samples[key] = family.samples.get(key, 0.0) + sample.value
    return out


def _add_into(total: Families, part: Families, kinds: frozenset[str] | None = None) -> None:
    for name, family in part.items():
        if kinds is not None and family.kind not in kinds:
            continue
        into = total.setdefault(name, _Family(name, family.kind, family.doc))
        for key, value in family.samples.items():
            into.samples[key] = into.samples.get(key, 0.0) + value


class MetricsMerger:
    """Sums the workers' exposition texts with the supervisor's own registry."""

    def __init__(self, own: CollectorRegistry) -> None:
        self._own = own
        self._latest: dict[int, Families] = {}
        self._retired: Families = {}

    def update(self, worker: int, text: str) -> None:
        """``worker``'s latest ``/metrics`` answer (replaces the previous one)."""
        self._latest[worker] = _families(text_string_to_metric_families(text))

    def retire(self, worker: int) -> None:
        """``worker`` exited: keep its counters and histograms, drop its gauges."""
        last = self._latest.pop(worker, None)
        if last is not None:
            _add_into(self._retired, last, _KEPT_WHEN_RETIRED)

    def merged(self) -> Families:
        total: Families = {}
        _add_into(total, _families(self._own.collect()))
        _add_into(total, self._retired)
        for families in self._latest.values():
            _add_into(total, families)
        return total

    def render(self) -> bytes:
        """The sum, in the Prometheus text format."""
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Static(self.merged()))
        return prometheus_client.generate_latest(registry)


class _Static(Collector):
    def __init__(self, families: Families) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        for family in sorted(self._families.values(), key=lambda f: f.name):
            metric = Metric(family.name, family.doc, family.kind)
            for (sample, labels), value in sorted(family.samples.items(), key=_bucket_order):
                metric.add_sample(sample, dict(labels), value)
            yield metric


def _bucket_order(item: tuple[SampleKey, float]) -> tuple[str, tuple[tuple[str, str], ...], float]:
    """Samples sorted by name and labels, histogram buckets by their numeric bound."""
    (name, labels), _ = item
    le = dict(labels).get("le")
    rest = tuple((k, v) for k, v in labels if k != "le")
    return name, rest, float(le) if le is not None else 0.0
