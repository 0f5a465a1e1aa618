"""Reconnect delays as a pure generator (the websockets ``backoff`` move).

A dropped Realtime socket mid-call should be back within about two seconds: start fast, grow
geometrically, cap low, and stop when the caller's patience (the deadline) runs out. Jitter
comes from the caller-supplied ``rand`` so tests are deterministic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

__all__ = ["reconnect_delays"]


def reconnect_delays(
    *,
    initial_s: float = 0.1,
    factor: float = 2.0,
    max_s: float = 1.0,
    deadline_s: float = 5.0,
    jitter: float = 0.1,
    rand: Callable[[], float] = lambda: 0.5,
) -> Iterator[float]:
    """Yield delays before each reconnect attempt until their sum would pass ``deadline_s``."""
    if initial_s <= 0 or factor < 1 or max_s <= 0 or not 0 <= jitter < 1:
        raise ValueError("need initial_s > 0, factor >= 1, max_s > 0 and 0 <= jitter < 1")
    total, delay = 0.0, initial_s
    while True:
        wait = min(delay, max_s) * (1.0 + jitter * (2.0 * rand() - 1.0))
        if total + wait > deadline_s:
            return
        total += wait
        yield wait
        delay *= factor
