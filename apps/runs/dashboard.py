"""Figures for the runs dashboard, always bounded by a date window.

Counts come from aggregate queries over the ``(tenant, -created_at)`` index; step
durations live in the steps JSON, so per-function percentiles are computed from the
newest ``SAMPLE_SIZE`` runs of the window rather than from every run.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import CharField, Count, Func
from django.utils import timezone

from apps.runs.models import Run, RunDecision, RunStatus
from apps.runs.selectors import ALL_SOURCES, PRODUCTION_SOURCES
from apps.tenants.models import Tenant

SAMPLE_SIZE = 2000
TOP_DENY_CODES = 8
_FAILED = (RunStatus.ERROR, RunStatus.TIMEOUT, RunStatus.LOST)


@dataclass(frozen=True)
class Window:
    key: str
    label: str
    span: timedelta
    bucket: str  # "hour" or "day"


WINDOWS = {
    w.key: w
    for w in (
        Window("24h", "Last 24 hours", timedelta(hours=24), "hour"),
        Window("7d", "Last 7 days", timedelta(days=7), "day"),
        Window("30d", "Last 30 days", timedelta(days=30), "day"),
    )
}
DEFAULT_WINDOW = "24h"


@dataclass(frozen=True)
class Bucket:
    start: datetime
    allowed: int
    denied: int  # denied by a function (errors not included)
    errors: int  # error or timeout status
    deny_decisions: int  # decision deny, for any reason (errors included)

    @property
    def total(self) -> int:
        return self.allowed + self.denied + self.errors


@dataclass(frozen=True)
class FunctionTiming:
    function_id: str
    name: str
    runs: int
    p50_ms: float
    p95_ms: float


@dataclass
class DashboardStats:
    window: Window
    since: datetime
    buckets: list[Bucket]
    total: int
    denied: int  # decision deny, for any reason
    errors: int
    deny_codes: list[tuple[str, int]]
    timings: list[FunctionTiming]
    run_p50_ms: float | None
    run_p95_ms: float | None
    sample_size: int
    sources: tuple[str, ...] = PRODUCTION_SOURCES

    @property
    def includes_tests(self) -> bool:
        return set(self.sources) != set(PRODUCTION_SOURCES)

    @property
    def deny_rate(self) -> float:
        return self.denied / self.total if self.total else 0.0

    @property
    def error_rate(self) -> float:
        return self.errors / self.total if self.total else 0.0

    @property
    def deny_pct(self) -> float:
        return self.deny_rate * 100

    @property
    def error_pct(self) -> float:
        return self.error_rate * 100


def dashboard_stats(
    *,
    tenant: Tenant,
    window: Window,
    now: datetime | None = None,
    sources: tuple[str, ...] = PRODUCTION_SOURCES,
) -> DashboardStats:
    """Production (``api``) runs by default: test and replay runs would skew p95 and rates."""
    now = now or timezone.now()
    since = now - window.span
    every_run = Run.objects.filter(tenant=tenant, created_at__gte=since, created_at__lte=now)
    left_out = [source for source in ALL_SOURCES if source not in sources]
    runs = every_run.filter(source__in=sources) if left_out else every_run
    excluded = every_run.filter(source__in=left_out) if left_out else None
    buckets = _buckets(every_run, excluded, window, since, now)
    durations, timings = _sampled_timings(runs)
    return DashboardStats(
        window=window,
        since=since,
        buckets=buckets,
        total=sum(b.total for b in buckets),
        denied=sum(b.deny_decisions for b in buckets),
        errors=sum(b.errors for b in buckets),
        deny_codes=_deny_codes(every_run, excluded),
        timings=timings,
        run_p50_ms=percentile(durations, 50),
        run_p95_ms=percentile(durations, 95),
        sample_size=len(durations),
        sources=sources,
    )


class UtcHour(Func):
    """``YYYY-MM-DD HH`` of a timestamp in UTC, computed natively by the database.

    Django's ``Trunc`` calls a Python function per row on SQLite (seconds on a month of
    runs); this expression keeps the grouping inside SQLite and PostgreSQL and lets both
    answer from the ``(tenant, [decision|status,] created_at)`` indexes alone.
    """

    output_field = CharField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # Django stores datetimes on SQLite as UTC text: "YYYY-MM-DD HH:MM:SS[.ffffff]".
        return self.as_sql(compiler, connection, template="substr(%(expressions)s, 1, 13)")

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = "to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24')"
        return self.as_sql(compiler, connection, template=template)


def _hourly(runs: Any, *extra: str) -> list[dict[str, Any]]:
    return list(
        runs.order_by()
        .annotate(hour=UtcHour("created_at"))
        .values("hour", *extra)
        .annotate(n=Count("*"))
    )


def _buckets(
    runs: Any, excluded: Any | None, window: Window, since: datetime, now: datetime
) -> list[Bucket]:
    """Counted per UTC hour by index-only queries, then summed into local buckets.

    ``excluded`` (test and replay runs, few) is counted through its own index and
    subtracted, so leaving them out keeps the big counts index-only.
    """
    counts: dict[datetime, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def add(rows: list[dict[str, Any]], name: Any, sign: int) -> None:
        for row in rows:
            counts[_local_bucket(row["hour"], window.bucket)][name(row)] += sign * row["n"]

    for queryset, sign in ((runs, 1), (excluded, -1)):
        if queryset is None:
            continue
        add(_hourly(queryset), lambda row: "total", sign)
        add(_hourly(queryset.filter(decision=RunDecision.DENY)), lambda row: "deny", sign)
        failed = _hourly(queryset.filter(status__in=_FAILED), "decision")
        add(
            failed,
            lambda row: "failed_deny" if row["decision"] == RunDecision.DENY else "failed",
            sign,
        )
    buckets = []
    for start in bucket_starts(since, now, window.bucket):
        c = counts.get(start, {})
        failed_deny, failed_other = c.get("failed_deny", 0), c.get("failed", 0)
        deny = c.get("deny", 0)
        allowed = c.get("total", 0) - deny - failed_other
        errors = failed_deny + failed_other
        buckets.append(Bucket(start, allowed, deny - failed_deny, errors, deny))
    return buckets


def _local_bucket(utc_hour: str, unit: str) -> datetime:
    moment = timezone.localtime(datetime.strptime(utc_hour, "%Y-%m-%d %H").replace(tzinfo=UTC))
    moment = moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0) if unit == "day" else moment


def bucket_starts(since: datetime, now: datetime, unit: str) -> list[datetime]:
    """Every hour/day start (local time) from the one containing ``since`` to ``now``."""
    local = timezone.localtime(since)
    start = local.replace(minute=0, second=0, microsecond=0)
    if unit == "day":
        start = start.replace(hour=0)
    step = timedelta(hours=1) if unit == "hour" else timedelta(days=1)
    starts = []
    while start <= now:
        starts.append(start)
        # Re-localise so a daylight-saving change keeps buckets on local boundaries.
        start = timezone.localtime(start + step)
        if unit == "day":
            start = start.replace(hour=0, minute=0)
    return starts


def _deny_codes(runs: Any, excluded: Any | None) -> list[tuple[str, int]]:
    """The top deny codes; ``excluded`` runs are counted apart and subtracted (see _buckets)."""
    counts: Counter[str] = Counter()
    for queryset, sign in ((runs, 1), (excluded, -1)):
        if queryset is None:
            continue
        rows = (
            queryset.filter(decision=RunDecision.DENY)
            .order_by()
            .values("error_code")
            .annotate(n=Count("pk"))
        )
        for row in rows:
            counts[row["error_code"] or "(none)"] += sign * row["n"]
    ranked = sorted(((code, n) for code, n in counts.items() if n > 0), key=lambda c: (-c[1], c[0]))
    return ranked[:TOP_DENY_CODES]


def _sampled_timings(runs: Any) -> tuple[list[float], list[FunctionTiming]]:
    sample = runs.order_by("-created_at").values_list("duration_ms", "steps")[:SAMPLE_SIZE]
    run_durations: list[float] = []
    per_function: dict[str, list[float]] = defaultdict(list)
    names: dict[str, str] = {}
    for duration, steps in sample:
        run_durations.append(float(duration))
        for step in steps or []:
            if step.get("status") in ("queued", "skipped") or not step.get("function_id"):
                continue
            per_function[step["function_id"]].append(float(step.get("duration_ms") or 0))
            names.setdefault(step["function_id"], str(step.get("name") or step["function_id"]))
    timings = [
        FunctionTiming(
            function_id=fid,
            name=names[fid],
            runs=len(values),
            p50_ms=percentile(values, 50) or 0.0,
            p95_ms=percentile(values, 95) or 0.0,
        )
        for fid, values in per_function.items()
    ]
    timings.sort(key=lambda t: (-t.p95_ms, t.name))
    return run_durations, timings


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (a value that occurred), None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(math.ceil(p / 100 * len(ordered)), 1)
    return ordered[rank - 1]
