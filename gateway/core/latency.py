"""Fixed-bucket latency histograms, cheap enough to feed from a 20 ms media callback.

:class:`LatencyHistogram` counts observations (seconds) into Prometheus-style buckets: bucket
``i`` counts values ``<= bounds[i]``, the last one everything above. :meth:`add` is a bisect and
two additions, with no lock: each histogram has exactly one writing thread (the pjmedia clock
thread or the asyncio loop); a reader (a metrics scrape) may see an observation counted in the
bucket but not yet in the sum, which the next read corrects.

Percentiles come from the buckets (:meth:`quantile`): the upper bound of the bucket holding the
wanted rank, so a reported p99 "≤ 5 ms" is a bound, never an interpolation.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

__all__ = ["LATENCY_BOUNDS_S", "LatencyHistogram", "quantile"]

LATENCY_BOUNDS_S: tuple[float, ...] = (
    0.0005,
    0.001,
    0.002,
    0.003,
    0.004,
    0.005,
    0.0075,
    0.01,
    0.015,
    0.02,
    0.025,
    0.03,
    0.04,
    0.05,
    0.075,
    0.1,
    0.25,
    0.5,
    1.0,
)
"""Half a millisecond to a second: fine below 5 ms (the media targets), coarse above."""


class LatencyHistogram:
    """Counts of observations per bucket, and their sum."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: Sequence[float] = LATENCY_BOUNDS_S) -> None:
        if list(bounds) != sorted(set(bounds)) or not bounds:
            raise ValueError("histogram bounds must be strictly increasing")
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)
        self.total = 0.0

    def add(self, seconds: float) -> None:
        self.counts[bisect_left(self.bounds, seconds)] += 1
        self.total += seconds

    @property
    def count(self) -> int:
        return sum(self.counts)

    def snapshot(self) -> tuple[list[int], float]:
        """A copy of the bucket counts (the last one is ``+Inf``) and the sum."""
        return list(self.counts), self.total

    def quantile(self, q: float) -> float | None:
        """Upper bound of the bucket holding quantile ``q`` (None: no observations)."""
        return quantile(self.bounds, self.counts, q)


def quantile(bounds: Sequence[float], counts: Sequence[int], q: float) -> float | None:
    """Upper bound of the bucket holding quantile ``q`` of per-bucket ``counts``.

    ``counts`` has one entry per bound plus the overflow bucket, whose bound is ``inf``.
    """
    total = sum(counts)
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for bound, count in zip((*bounds, float("inf")), counts, strict=True):
        seen += count
        if seen >= rank and count:
            return bound
    return float("inf")
