"""Summing the workers' metrics in the supervisor, and keeping a dead worker's counters."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from gateway.observability.metrics_merge import MetricsMerger


def _worker(calls: int, active: int, lags: list[float]) -> str:
    """One worker's exposition text."""
    r = CollectorRegistry()
    Counter("voicegw_calls", "Calls.", ["outcome"], registry=r).labels("ok").inc(calls)
    Gauge("voicegw_calls_active", "Active.", registry=r).set(active)
    h = Histogram("voicegw_lag_seconds", "Lag.", buckets=(0.01, 0.1), registry=r)
    for lag in lags:
        h.observe(lag)
    return generate_latest(r).decode()


def _read(merger: MetricsMerger) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(merger.render().decode())
        for s in family.samples
    }


def test_workers_and_the_supervisor_are_summed() -> None:
    """Counters, gauges and histogram buckets add up across workers and the supervisor's own."""
    own = CollectorRegistry()
    Counter("voicegw_calls", "Calls.", ["outcome"], registry=own).labels("failed").inc()
    merger = MetricsMerger(own)
    merger.update(0, _worker(3, 1, [0.005]))
    merger.update(1, _worker(4, 2, [0.05, 0.5]))
    v = _read(merger)
    assert v[("voicegw_calls_total", (("outcome", "ok"),))] == 7
    assert v[("voicegw_calls_total", (("outcome", "failed"),))] == 1
    assert v[("voicegw_calls_active", ())] == 3
    assert v[("voicegw_lag_seconds_bucket", (("le", "0.01"),))] == 1
    assert v[("voicegw_lag_seconds_bucket", (("le", "0.1"),))] == 2
    assert v[("voicegw_lag_seconds_bucket", (("le", "+Inf"),))] == 3
    assert v[("voicegw_lag_seconds_count", ())] == 3


def test_a_restarted_worker_never_makes_totals_go_backwards() -> None:
    """The dead worker's last counters are kept; its gauges are not; its successor adds on."""
    merger = MetricsMerger(CollectorRegistry())
    merger.update(0, _worker(5, 2, [0.005]))
    merger.retire(0)
    merger.update(0, _worker(1, 1, []))
    v = _read(merger)
    assert v[("voicegw_calls_total", (("outcome", "ok"),))] == 6
    assert v[("voicegw_calls_active", ())] == 1
    assert v[("voicegw_lag_seconds_count", ())] == 1


def test_a_newer_answer_replaces_the_older_one() -> None:
    """Scrapes of a live worker are snapshots: the latest one counts, not their sum."""
    merger = MetricsMerger(CollectorRegistry())
    merger.update(0, _worker(2, 0, []))
    merger.update(0, _worker(3, 0, []))
    assert _read(merger)[("voicegw_calls_total", (("outcome", "ok"),))] == 3
