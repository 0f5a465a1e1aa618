"""Reconnect delays: geometric growth, a cap, a total deadline, and jitter from ``rand``."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.core.realtime.backoff import reconnect_delays


def _rand(values: Iterable[float]) -> Callable[[], float]:
    it = itertools.cycle(values)
    return lambda: next(it)


def test_default_schedule_without_jitter() -> None:
    """With a mid-point ``rand`` the defaults double from 0.1 s, cap at 1 s and stop by 5 s."""
    delays = list(reconnect_delays())
    assert delays == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0])
    assert sum(delays) <= 5.0


def test_geometric_growth_by_factor() -> None:
    """Each delay is ``factor`` times the one before while under the cap."""
    delays = list(
        itertools.islice(
            reconnect_delays(initial_s=0.5, factor=3.0, max_s=100.0, deadline_s=1e9, jitter=0.0),
            5,
        )
    )
    assert delays == pytest.approx([0.5, 1.5, 4.5, 13.5, 40.5])


def test_delays_never_exceed_the_cap() -> None:
    """Once growth passes ``max_s``, every further delay is exactly the cap."""
    delays = list(
        itertools.islice(
            reconnect_delays(initial_s=0.1, factor=10.0, max_s=2.0, deadline_s=1e9, jitter=0.0),
            6,
        )
    )
    assert delays == pytest.approx([0.1, 1.0, 2.0, 2.0, 2.0, 2.0])


@pytest.mark.parametrize("deadline_s", [0.0, 0.05, 0.1, 0.3, 0.31, 2.0, 5.0, 12.345])
def test_sum_of_delays_respects_the_deadline(deadline_s: float) -> None:
    """The delays add up to at most the deadline, and one more would have passed it."""
    delays = list(reconnect_delays(deadline_s=deadline_s, jitter=0.0))
    assert sum(delays) <= deadline_s
    next_delay = min(0.1 * 2.0 ** len(delays), 1.0)
    assert sum(delays) + next_delay > deadline_s


def test_first_delay_over_the_deadline_gives_nothing() -> None:
    """If even the first attempt's delay passes the deadline, no attempt is scheduled."""
    assert list(reconnect_delays(initial_s=2.0, max_s=5.0, deadline_s=1.0)) == []


def test_jitter_bounds_with_extreme_rand() -> None:
    """``rand() == 0`` shortens a delay by ``jitter``; ``rand() == 1`` lengthens it as much."""
    low = list(reconnect_delays(jitter=0.2, rand=lambda: 0.0, deadline_s=1.0))
    high = list(reconnect_delays(jitter=0.2, rand=lambda: 1.0, deadline_s=1.0))
    assert low == pytest.approx([0.08, 0.16, 0.32])
    assert high == pytest.approx([0.12, 0.24, 0.48])


def test_jitter_applies_to_the_capped_delay() -> None:
    """Jitter scales the capped value, so delays past the cap vary around the cap."""
    delays = list(
        itertools.islice(
            reconnect_delays(
                initial_s=1.0, max_s=1.0, deadline_s=1e9, jitter=0.5, rand=_rand([0.0, 1.0, 0.75])
            ),
            3,
        )
    )
    assert delays == pytest.approx([0.5, 1.5, 1.25])


def test_rand_is_called_once_per_delay() -> None:
    """Each delay draws one random number, so a seeded source gives a reproducible schedule."""
    calls: list[float] = []

    def rand() -> float:
        calls.append(0.5)
        return 0.5

    delays = list(reconnect_delays(rand=rand))
    assert len(calls) == len(delays) + 1  # the last draw is the one that passed the deadline


@given(
    initial=st.floats(0.01, 2.0),
    factor=st.floats(1.0, 4.0),
    cap=st.floats(0.01, 5.0),
    deadline=st.floats(0.0, 30.0),
    jitter=st.floats(0.0, 0.9),
    draws=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=8),
)
def test_any_schedule_stays_in_bounds(
    *,
    initial: float,
    factor: float,
    cap: float,
    deadline: float,
    jitter: float,
    draws: list[float],
) -> None:
    """For any settings, every delay is within jitter of the capped value and the sum fits."""
    delays = list(
        reconnect_delays(
            initial_s=initial,
            factor=factor,
            max_s=cap,
            deadline_s=deadline,
            jitter=jitter,
            rand=_rand(draws),
        )
    )
    assert sum(delays) <= deadline + 1e-9
    uncapped = initial
    for delay in delays:
        base = min(uncapped, cap)
        assert base * (1 - jitter) - 1e-9 <= delay <= base * (1 + jitter) + 1e-9
        uncapped *= factor
