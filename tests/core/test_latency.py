"""Fixed-bucket latency histograms: counting, snapshots, and percentiles as bucket bounds."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.core.latency import LATENCY_BOUNDS_S, LatencyHistogram, quantile


def test_a_value_on_a_bound_counts_in_that_bucket() -> None:
    """Buckets hold values <= their bound (Prometheus ``le``); above every bound: the last."""
    hist = LatencyHistogram((0.001, 0.002))
    for value in (0.0005, 0.001, 0.0015, 0.002, 0.5):
        hist.add(value)
    assert hist.snapshot() == ([2, 2, 1], pytest.approx(0.505))
    assert hist.count == 5


def test_quantiles_are_upper_bounds_of_the_bucket_holding_the_rank() -> None:
    """p50 and p99 name the bucket bound, never an interpolation."""
    hist = LatencyHistogram((0.001, 0.005, 0.02))
    for _ in range(98):
        hist.add(0.0008)
    hist.add(0.004)
    hist.add(0.3)
    assert hist.quantile(0.5) == 0.001
    assert hist.quantile(0.99) == 0.005
    assert hist.quantile(1.0) == float("inf")


def test_no_observations_have_no_quantile() -> None:
    """An empty histogram says so (None) rather than inventing zero."""
    assert LatencyHistogram().quantile(0.99) is None
    assert quantile((0.1,), [0, 0], 0.5) is None


def test_bounds_must_increase() -> None:
    """Unsorted or repeated bounds are a programming error."""
    with pytest.raises(ValueError, match="increasing"):
        LatencyHistogram((0.002, 0.001))


@given(st.lists(st.floats(min_value=0, max_value=2, allow_nan=False), min_size=1, max_size=200))
def test_the_quantile_bounds_the_true_value(values: list[float]) -> None:
    """Whatever the data, the reported p99 is at least the true p99 and within one bucket."""
    hist = LatencyHistogram()
    for value in values:
        hist.add(value)
    ordered = sorted(values)
    true = ordered[max(0, -(-len(ordered) * 99 // 100) - 1)]
    reported = hist.quantile(0.99)
    assert reported is not None
    assert reported >= true
    smaller = [b for b in (0.0, *LATENCY_BOUNDS_S) if b < reported]
    assert not smaller or true > max(smaller) or true == 0.0
