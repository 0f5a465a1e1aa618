"""Rate limits for what floods can reach: token buckets and rate-limited log lines (sans-I/O).

The caller passes ``now`` (monotonic seconds) to every method; nothing here reads a clock.

A :class:`TokenBucket` holds up to ``burst`` tokens and gains ``rate`` a second; a request takes
one. An empty bucket refuses and says how long until a token is back (a Retry-After).
:class:`RateLimiter` keeps a bucket per key (a source address) and one for everything::

    per-key bucket   overall bucket   decision
    has a token      has a token      admitted: one token taken from each
    empty            (any)            refused, wait = the later of the two refills
    (any)            empty            refused, nothing taken

A refused request takes nothing, so a flood from one source does not drain the overall bucket
for the others. At most ``max_keys`` per-key buckets are kept (least recently used dropped
first); a dropped key starts again with a full bucket, which the overall bucket still bounds.

:class:`RateLimitedLog` decides which of many similar events get a log line.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from gateway.errors import ConfigError, ConfigIssue

__all__ = ["RateLimit", "RateLimitedLog", "RateLimiter", "TokenBucket"]


@dataclass(frozen=True, slots=True)
class RateLimit:
    """``rate`` requests a second on average, ``burst`` at once."""

    rate: float
    burst: int

    def __post_init__(self) -> None:
        if not self.rate > 0 or self.burst < 1:
            problem = f"needs rate > 0 and burst >= 1, not rate {self.rate} burst {self.burst}"
            raise ConfigError([ConfigIssue("rate limit", None, "", problem)])


@dataclass(slots=True)
class TokenBucket:
    limit: RateLimit
    tokens: float = field(init=False)
    updated: float | None = field(default=None, init=False)
    """When ``tokens`` was last brought up to date (None: never used, full)."""

    def __post_init__(self) -> None:
        self.tokens = float(self.limit.burst)

    def wait(self, now: float) -> float:
        """Seconds until a token is available at ``now`` (0.0: one is available)."""
        if self.updated is not None and now > self.updated:
            refill = (now - self.updated) * self.limit.rate
            self.tokens = min(float(self.limit.burst), self.tokens + refill)
        if self.updated is None or now > self.updated:  # a clock that steps back adds nothing
            self.updated = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.limit.rate

    def take(self, now: float) -> float:
        """Take a token if there is one: 0.0; else the seconds until there will be one."""
        wait = self.wait(now)
        if wait == 0.0:
            self.tokens -= 1
        return wait


class RateLimiter:
    """One bucket per key under ``per_key`` and one for all keys under ``overall``."""

    def __init__(self, per_key: RateLimit, overall: RateLimit, *, max_keys: int = 10_000) -> None:
        self.per_key = per_key
        self.overall = TokenBucket(overall)
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def check(self, key: str, now: float) -> float:
        """Admit one request from ``key`` at ``now``: 0.0, or the seconds to wait (refused)."""
        bucket = self._bucket(key)
        wait = max(bucket.wait(now), self.overall.wait(now))
        if wait == 0.0:
            bucket.take(now)
            self.overall.take(now)
        return wait

    def _bucket(self, key: str) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self.per_key)
            while len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        return bucket

    def __len__(self) -> int:
        """How many per-key buckets are kept."""
        return len(self._buckets)


class RateLimitedLog:
    """Decides which of many similar events get a log line: at most ``per_second``.

    A flood of junk must not become a flood of log lines; what is held back is counted and
    reported with the next line (``suppressed``). :attr:`counts` keeps totals by key.
    """

    def __init__(self, per_second: int = 10) -> None:
        self.per_second = per_second
        self.counts: dict[str, int] = {}
        self._window = -1
        self._logged = 0
        self._suppressed = 0

    def note(self, key: str, fields: dict[str, Any], now: float) -> dict[str, Any] | None:
        """Count one ``key`` event; the fields to log now, or None (held back)."""
        self.counts[key] = self.counts.get(key, 0) + 1
        window = int(now)
        if window != self._window:
            self._window, self._logged = window, 0
        if self._logged >= self.per_second:
            self._suppressed += 1
            return None
        self._logged += 1
        out = {k: v for k, v in fields.items() if v not in ("", None)}
        if self._suppressed:
            out["suppressed"], self._suppressed = self._suppressed, 0
        return out
