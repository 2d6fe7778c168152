#!/usr/bin/env python3
"""Cost of the API rate limit per request: `DEBUG=True python benchmarks/throttle.py [--redis URL]`.

Compares DRF's ``SimpleRateThrottle`` (a list of every request's timestamp in the period,
read and rewritten whole on each request) with the product's ``SlidingWindowRateThrottle``
(apps/api/throttling.py: two integers per key), for a key that has already made ``n``
requests in the current minute: 0, 600, 3,000 and 6,000 (the default rate, 6000/min, full).
Prints the process CPU (and for Redis the wall time, round trips included) per request, the
median of 5 rounds of 300 requests, on the local-memory cache (or, with ``--redis``, on Redis).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

HISTORIES = (0, 600, 3000, 6000)
REQUESTS = 300
ROUNDS = 5


def _throttles() -> dict[str, type]:
    from rest_framework.throttling import SimpleRateThrottle

    from apps.api.throttling import SlidingWindowRateThrottle

    class Listed(SimpleRateThrottle):
        rate = "1000000/min"  # never refuses: every request is measured on its success path
        keeps_a_list = True

        def get_cache_key(self, request: Any, view: Any) -> str:
            return "bench-throttle:listed"

    class Windowed(SlidingWindowRateThrottle):
        rate = "1000000/min"

        def get_cache_key(self, request: Any, view: Any) -> str:
            return "bench-throttle:windowed"

    return {"DRF SimpleRateThrottle": Listed, "SlidingWindowRateThrottle": Windowed}


def _fill(throttle_class: type, history: int) -> None:
    """The state of a key that made ``history`` requests in the last minute."""
    from django.core.cache import cache

    cache.clear()
    now = time.time()
    probe = throttle_class()
    key = probe.get_cache_key(None, None)
    if getattr(throttle_class, "keeps_a_list", False):
        cache.set(key, [now - i * 0.001 for i in range(history)], 60)
    elif history:
        cache.set(f"{key}:{int(now // 60)}", history, 120)


def _per_request(throttle_class: type) -> tuple[float, float]:
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(REQUESTS):
        assert throttle_class().allow_request(None, None)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return cpu / REQUESTS * 1e6, wall / REQUESTS * 1e6


def measure(backend: str) -> None:
    print(f"\n{backend}: per request, median of {ROUNDS} rounds of {REQUESTS}")
    print(f"{'throttle':<28}{'requests already this minute':>30}{'CPU µs':>10}{'wall µs':>10}")
    for name, throttle_class in _throttles().items():
        for history in HISTORIES:
            cpu, wall = [], []
            for _ in range(ROUNDS):
                _fill(throttle_class, history)
                c, w = _per_request(throttle_class)
                cpu.append(c)
                wall.append(w)
            print(
                f"{name:<28}{history:>30,}{statistics.median(cpu):>10.0f}"
                f"{statistics.median(wall):>10.0f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", help="measure on this Redis instead (its database is cleared)")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "genauth_pipeline.settings")
    os.environ.pop("REDIS_URL", None)
    if args.redis:
        os.environ["REDIS_URL"] = args.redis
    import django

    django.setup()
    measure("Redis" if args.redis else "local-memory cache")
    from django.core.cache import cache

    cache.clear()


if __name__ == "__main__":
    main()
