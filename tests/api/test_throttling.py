"""The API's rate limit: a sliding-window counter whose state stays two integers per key."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache

from apps.api.throttling import SlidingWindowRateThrottle

START = 6_000_000.0  # the start of a minute (a multiple of 60)


class _Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


class _KeyThrottle(SlidingWindowRateThrottle):
    rate = "10/min"

    def get_cache_key(self, request: Any, view: Any) -> str:
        return f"test-throttle:{request}"


@pytest.fixture
def clock() -> Iterator[_Clock]:
    cache.clear()
    yield _Clock()
    cache.clear()


def _ask(clock: _Clock, who: str = "a") -> _KeyThrottle:
    throttle = _KeyThrottle()
    throttle.timer = clock  # type: ignore[assignment,method-assign]
    throttle.allowed = throttle.allow_request(who, None)  # type: ignore[arg-type,attr-defined]
    return throttle


def _allowed(clock: _Clock, count: int, who: str = "a") -> int:
    return sum(_ask(clock, who).allowed for _ in range(count))  # type: ignore[attr-defined]


def test_it_lets_the_rate_through_and_refuses_the_next_with_a_wait(clock: _Clock) -> None:
    clock.now = START + 30
    assert _allowed(clock, 10) == 10
    refused = _ask(clock)
    assert refused.allowed is False  # type: ignore[attr-defined]
    # This window alone is full: in the next one it weighs (1 - elapsed), so one more fits
    # once a tenth of that window has passed: 30 s + 6 s from now.
    assert refused.wait() == pytest.approx(36.0)


def test_each_key_has_its_own_allowance(clock: _Clock) -> None:
    assert _allowed(clock, 12, who="a") == 10
    assert _allowed(clock, 3, who="b") == 3


def test_the_previous_window_weighs_by_the_share_of_it_still_in_the_period(
    clock: _Clock,
) -> None:
    clock.now = START + 59
    assert _allowed(clock, 10) == 10
    clock.now = START + 60 + 15  # a quarter into the next window: 10 * 0.75 = 7.5 weigh
    assert _allowed(clock, 5) == 2  # 7.5 + 2 = 9.5; a third would make 10.5
    refused = _ask(clock)
    assert refused.allowed is False  # type: ignore[attr-defined]
    # One more needs 10 * (1 - e) + 2 <= 9, e >= 0.3: at 18 s into the window, 3 s from now.
    assert refused.wait() == pytest.approx(3.0)
    clock.now = START + 60 + 18
    assert _allowed(clock, 2) == 1
    clock.now = START + 180  # two windows later nothing of it weighs
    assert _allowed(clock, 11) == 10


def test_refused_requests_are_not_counted_and_the_state_stays_two_integers(
    clock: _Clock,
) -> None:
    assert _allowed(clock, 500) == 10
    window = int(START // 60)
    assert cache.get(f"test-throttle:a:{window}") == 10
    assert cache.get(f"test-throttle:a:{window - 1}") is None
