"""Fairness between tenants: bounds on one tenant's runs in the sandbox at once and on the
CPU time its code uses per minute.

A tenant over either bound gets ``tenant_busy`` at once instead of taking sandbox capacity
that other tenants need. The counts live in the cache: shared by every web process with Redis,
per process with the local-memory cache. The in-flight count expires after ``IN_FLIGHT_TTL_S``
without a new run, so a process killed mid-run cannot hold its slots for ever; CPU is counted
per fixed minute (the window's key expires with it).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

from django.conf import settings
from django.core.cache import cache

from apps.core.redis_cache import add_to_counter, redis_client, round_trip

IN_FLIGHT_TTL_S = 120


CPU_WINDOW_S = 60


class TenantBusy(Exception):
    def __init__(self, limit: int, message: str = "") -> None:
        super().__init__(message or f"{limit} runs in flight")
        self.limit = limit
        self.message = message or (
            f"Too many runs of this tenant are in progress (at most {limit} at once); "
            "the run was denied."
        )


def in_flight_key(tenant_id: str) -> str:
    return f"gp:in-flight:{tenant_id}"


# Tenant limits that the web tier applies; the rest go to the sandbox with the job.
FAIRNESS_LIMITS = ("max_in_flight", "cpu_ms_per_minute")


def _positive_int(limits: dict[str, object], name: str, default: int) -> int:
    value = limits.get(name)
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return default


def max_in_flight(limits: dict[str, object]) -> int:
    """The tenant's bound: its own ``max_in_flight`` limit if it is a positive integer."""
    return _positive_int(limits, "max_in_flight", int(settings.SANDBOX_TENANT_MAX_IN_FLIGHT))


def cpu_ms_per_minute(limits: dict[str, object]) -> int:
    """The tenant's CPU allowance: its own ``cpu_ms_per_minute`` if a positive integer."""
    return _positive_int(
        limits, "cpu_ms_per_minute", int(settings.SANDBOX_TENANT_CPU_MS_PER_MINUTE)
    )


def cpu_key(tenant_id: str, now: float | None = None) -> str:
    window = int((time.time() if now is None else now) // CPU_WINDOW_S)
    return f"gp:cpu:{tenant_id}:{window}"


def _cpu_spent(limit_ms: int) -> TenantBusy:
    left = CPU_WINDOW_S - time.time() % CPU_WINDOW_S
    return TenantBusy(
        limit_ms,
        f"This tenant's functions used their CPU time allowance ({limit_ms} ms per minute); "
        f"the run was denied. Runs are accepted again in {left:.0f} s.",
    )


def check_cpu(tenant_id: str, limit_ms: int) -> None:
    """``TenantBusy`` if the tenant's code has used its CPU allowance in this minute."""
    used = cache.get(cpu_key(tenant_id)) or 0
    if used >= limit_ms:
        raise _cpu_spent(limit_ms)


def charge_cpu(tenant_id: str, cpu_ms: float) -> None:
    """Add what a run's code used to the tenant's count for this minute."""
    if cpu_ms <= 0:
        return
    # One cache operation on the hot path: the minute's key exists after its first run.
    add_to_counter(cache, cpu_key(tenant_id), max(1, round(cpu_ms)), CPU_WINDOW_S * 2)


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


@contextlib.contextmanager
def admission(tenant_id: str, limits: dict[str, object]) -> Iterator[Callable[[float], None]]:
    """Admit one run of the tenant (``TenantBusy`` over its CPU allowance or its runs in
    flight) and hold its slot; the caller charges what the run's code used through the
    function it is given, and the slot is given back at the end, the charge with it.

    With Redis: one round trip to admit and one to give back, where the cache's own
    operations would take six (``benchmarks/fairness.py``). Elsewhere: those operations."""
    cpu_limit, slot_limit = cpu_ms_per_minute(limits), max_in_flight(limits)
    client = redis_client(cache)
    charged: list[float] = []
    if client is None:
        check_cpu(tenant_id, cpu_limit)
        with in_flight_slot(tenant_id, slot_limit):
            try:
                yield charged.append
            finally:
                charge_cpu(tenant_id, sum(charged))
        return
    slot = cache.make_and_validate_key(in_flight_key(tenant_id))
    cpu = cache.make_and_validate_key(cpu_key(tenant_id))
    count, _, used = round_trip(
        client, ("INCR", slot), ("EXPIRE", slot, IN_FLIGHT_TTL_S), ("GET", cpu)
    )
    if count > slot_limit or int(used or 0) >= cpu_limit:
        round_trip(client, ("DECR", slot))
        raise _cpu_spent(cpu_limit) if int(used or 0) >= cpu_limit else TenantBusy(slot_limit)
    try:
        yield charged.append
    finally:
        amount = max(1, round(sum(charged))) if sum(charged) > 0 else 0
        back: list[tuple[str | int, ...]] = [("DECR", slot)]
        if amount:
            back += [("INCRBY", cpu, amount), ("EXPIRE", cpu, CPU_WINDOW_S * 2)]
        round_trip(client, *back)
