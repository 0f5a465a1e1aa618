"""Token buckets and the per-key + overall rate limiter, on an explicit clock."""

from __future__ import annotations

import pytest

from gateway.core.rate_limit import RateLimit, RateLimiter, TokenBucket
from gateway.errors import ConfigError


def test_a_bucket_allows_its_burst_then_refills_at_its_rate() -> None:
    """Burst 3 at 2/s: three requests at once pass, the fourth waits 0.5 s; after 0.5 s one
    passes again; after a long pause the bucket is full again but never fuller than its burst."""
    bucket = TokenBucket(RateLimit(rate=2, burst=3))
    assert [bucket.take(100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(100.0) == pytest.approx(0.5)
    assert bucket.take(100.25) == pytest.approx(0.25)  # half a token back: a quarter second more
    assert bucket.take(100.5) == 0.0
    assert bucket.take(100.5) == pytest.approx(0.5)
    assert [bucket.take(1000.0) for _ in range(4)][-1] == pytest.approx(0.5)


def test_a_refused_request_takes_nothing_and_a_clock_step_back_adds_nothing() -> None:
    """Asking an empty bucket again and again does not push its refill back; a ``now`` earlier
    than the last one neither refills nor breaks the bucket."""
    bucket = TokenBucket(RateLimit(rate=1, burst=1))
    assert bucket.take(10.0) == 0.0
    assert [bucket.take(10.0 + i / 10) for i in range(1, 10)][-1] == pytest.approx(0.1)
    assert bucket.take(11.0) == 0.0
    assert bucket.take(5.0) == pytest.approx(1.0)
    assert bucket.take(12.0) == 0.0


def test_each_key_has_its_own_bucket() -> None:
    """One source's flood does not touch another's allowance."""
    limiter = RateLimiter(RateLimit(1, 2), RateLimit(100, 100))
    assert [limiter.check("10.0.0.1", 0.0) for _ in range(3)] == [0.0, 0.0, pytest.approx(1.0)]
    assert limiter.check("10.0.0.2", 0.0) == 0.0
    assert limiter.check("10.0.0.1", 1.0) == 0.0


def test_the_overall_bucket_bounds_all_keys_and_refusals_take_nothing() -> None:
    """Overall burst 3: the fourth request, from a fresh key, is refused; a key refused by its
    own bucket takes no overall token, so other keys keep the overall allowance."""
    limiter = RateLimiter(RateLimit(1, 1), RateLimit(1, 3))
    assert limiter.check("a", 0.0) == 0.0
    assert limiter.check("a", 0.0) > 0  # a's own bucket refuses: nothing taken overall
    assert limiter.check("a", 0.0) > 0
    assert [limiter.check(k, 0.0) for k in ("b", "c")] == [0.0, 0.0]
    assert limiter.check("d", 0.0) == pytest.approx(1.0)  # overall is empty
    assert limiter.check("d", 1.0) == 0.0  # d's own token was not taken by the refusal


def test_keys_are_bounded_least_recently_used_first() -> None:
    """With room for two keys, a third drops the least recently used one, which comes back
    with a full bucket."""
    limiter = RateLimiter(RateLimit(1, 1), RateLimit(100, 100), max_keys=2)
    for key in ("a", "b"):
        assert limiter.check(key, 0.0) == 0.0
    assert limiter.check("a", 0.0) > 0  # a used again: b is now the oldest
    assert limiter.check("c", 0.0) == 0.0
    assert len(limiter) == 2
    assert limiter.check("a", 0.0) > 0  # a was kept, still empty
    assert limiter.check("b", 0.0) == 0.0  # b was dropped: a fresh, full bucket


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 5), (1, 0)])
def test_a_limit_needs_a_positive_rate_and_burst(rate: float, burst: int) -> None:
    """A zero or negative rate, or a burst under one, is a configuration error."""
    with pytest.raises(ConfigError, match="rate > 0 and burst >= 1"):
        RateLimit(rate, burst)
