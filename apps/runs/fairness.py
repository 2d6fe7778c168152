"""Fairness between tenants: a bound on one tenant's runs in the sandbox at once.

A tenant over its bound gets ``tenant_busy`` at once instead of waiting for a sandbox worker
that other tenants need. The count lives in the cache: shared by every web process with Redis,
per process with the local-memory cache. It expires after ``IN_FLIGHT_TTL_S`` without a new run,
so a process killed mid-run cannot hold its slots for ever.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.conf import settings
from django.core.cache import cache

IN_FLIGHT_TTL_S = 120


class TenantBusy(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"{limit} runs in flight")
        self.limit = limit


def in_flight_key(tenant_id: str) -> str:
    return f"gp:in-flight:{tenant_id}"


def max_in_flight(limits: dict[str, object]) -> int:
    """The tenant's bound: its own ``max_in_flight`` limit if it is a positive integer."""
    value = limits.get("max_in_flight")
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return int(settings.SANDBOX_TENANT_MAX_IN_FLIGHT)


@contextlib.contextmanager
def in_flight_slot(tenant_id: str, limit: int) -> Iterator[None]:
    """Hold one of the tenant's ``limit`` slots; ``TenantBusy`` if none is free."""
    key = in_flight_key(tenant_id)
    cache.add(key, 0, IN_FLIGHT_TTL_S)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, IN_FLIGHT_TTL_S)
        count = 1
    if count > limit:
        _release(key)
        raise TenantBusy(limit)
    cache.touch(key, IN_FLIGHT_TTL_S)
    try:
        yield
    finally:
        _release(key)


def _release(key: str) -> None:
    with contextlib.suppress(ValueError):
        cache.decr(key)
