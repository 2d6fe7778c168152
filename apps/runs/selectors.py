"""Reads for executions and the run log.

The hot path (what a pipeline runs) is cached per process, keyed on the tenant's
``config_version``: every change to what executes bumps it in the database, and the
execute request reads it fresh with the API-key lookup, so a publish is live for the
very next run in every process without a shared cache or a signal.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from apps.audit.models import AuditEvent
from apps.core.cache import VersionedLru
from apps.core.errors import NotFound, ServiceError
from apps.pipelines.models import Function
from apps.pipelines.selectors import function_for_tenant
from apps.runs.models import Run, RunDecision, RunSource, RunStatus
from apps.runtime.jobs import FunctionJob
from apps.secrets.services import env_for_execution
from apps.tenants.models import Tenant

CACHE_SIZE = 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedFunction(FunctionJob):
    """One function as a run executes it (a live release, or a draft for tests, whose
    ``version`` is None): what the sandbox is handed, and whether it runs after the response."""

    is_async: bool = False


# (tenant id, tenant created_at, trigger) -> the live functions at the tenant's config_version.
_live_functions: VersionedLru[tuple[Any, datetime, str], tuple[PlannedFunction, ...]] = (
    VersionedLru(CACHE_SIZE)
)


def _planned(function: Function, *, draft: bool) -> PlannedFunction:
    release = function.live_release
    return PlannedFunction(
        id=function.id,
        name=function.name,
        version=None if draft or release is None else release.version,
        code=function.code if draft or release is None else release.code,
        timeout_ms=function.timeout_ms,
        terminate_on_timeout=function.terminate_on_timeout,
        is_async=function.is_async,
    )


def live_functions_for_trigger(*, tenant: Tenant, trigger: str) -> tuple[PlannedFunction, ...]:
    """The enabled functions with a live release, in order (cached per config_version)."""
    # created_at too: a deleted tenant's id may be reused (SQLite) with a matching version.
    key = (tenant.pk, tenant.created_at, trigger)
    cached = _live_functions.get(key, tenant.config_version)
    if cached is not None:
        return cached
    functions = (
        Function.objects.filter(
            tenant=tenant, pipeline__trigger=trigger, enabled=True, live_release__isnull=False
        )
        .select_related("live_release")
        .order_by("position")
    )
    planned = tuple(_planned(function, draft=False) for function in functions)
    _live_functions.put(key, tenant.config_version, planned)
    return planned


def draft_functions_for_trigger(*, tenant: Tenant, trigger: str) -> tuple[PlannedFunction, ...]:
    """The enabled functions at their drafts, in order: what a pipeline test runs."""
    functions = Function.objects.filter(
        tenant=tenant, pipeline__trigger=trigger, enabled=True
    ).order_by("position")
    return tuple(_planned(function, draft=True) for function in functions)


def function_for_test(*, tenant: Tenant, id: str, code: str | None) -> tuple[PlannedFunction, str]:
    """One function of the tenant at its draft (or the given code), and its trigger."""
    function = function_for_tenant(tenant=tenant, id=id)
    planned = _planned(function, draft=True)
    if code is not None:
        planned = replace(planned, code=code)
    return planned, function.pipeline.trigger


def planned_function_at_version(
    *, tenant: Tenant, function_id: str, version: int | None
) -> PlannedFunction | None:
    """A queued step's function at the release it was planned with (None if gone)."""
    function = (
        Function.objects.filter(tenant=tenant, id=function_id)
        .select_related("live_release")
        .first()
    )
    if function is None:
        return None
    if version is None:
        return _planned(function, draft=True)
    release = function.releases.filter(version=version).first()
    if release is None:
        return None
    return replace(_planned(function, draft=True), version=release.version, code=release.code)


def env_for_tenant(*, tenant: Tenant) -> tuple[dict[str, str], dict[str, str]]:
    """(env for the functions, {secret name: value} for redaction): the one seam to
    ``apps.secrets``, which caches decrypted values per config_version itself."""
    return env_for_execution(tenant=tenant)


def caches_clear() -> None:
    _live_functions.clear()


# --- The run log -------------------------------------------------------------------


def run_for_tenant(*, tenant: Tenant, id: str) -> Run:
    run = Run.objects.filter(tenant=tenant, id=id).first()
    if run is None:
        raise NotFound("No such run.", details={"run_id": id})
    return run


# Production runs are what the IdP asked for; tests and replays only show the editor's work
# and must not move the figures an operator watches (p95, deny rate, last outcomes).
PRODUCTION_SOURCES: tuple[str, ...] = (RunSource.API,)
ALL_SOURCES: tuple[str, ...] = tuple(RunSource.values)
# How many recent runs the pipelines page scans for each function's last outcome.
RECENT_RUNS_SCANNED = 500


def run_sources(*, include_tests: bool) -> tuple[str, ...]:
    return ALL_SOURCES if include_tests else PRODUCTION_SOURCES


def last_step_outcomes(
    *, tenant: Tenant, function_ids: set[str], sources: tuple[str, ...] = PRODUCTION_SOURCES
) -> dict[str, dict[str, Any]]:
    """function id -> its step in the newest run (of those sources) that included it."""
    outcomes: dict[str, dict[str, Any]] = {}
    runs = Run.objects.filter(tenant=tenant)
    if set(sources) != set(ALL_SOURCES):
        runs = runs.filter(source__in=sources)
    recent = runs.only("id", "steps", "created_at", "source").order_by("-created_at")
    recent = recent[:RECENT_RUNS_SCANNED]
    for run in recent:
        for step in run.steps if isinstance(run.steps, list) else []:
            function_id = step.get("function_id") if isinstance(step, dict) else None
            if function_id in function_ids and function_id not in outcomes:
                outcomes[function_id] = {
                    "status": str(step.get("status", "")),
                    "run_id": run.id,
                    "source": run.source,
                    "created_at": run.created_at,
                }
        if len(outcomes) == len(function_ids):
            break
    return outcomes


@dataclass(frozen=True)
class RunFilters:
    trigger: str | None = None
    decision: str | None = None
    status: str | None = None
    source: str | None = None
    function: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    q: str | None = None


def runs_filtered(*, tenant: Tenant, filters: RunFilters) -> QuerySet[Run]:
    runs = Run.objects.filter(tenant=tenant)
    exact = {
        "trigger": filters.trigger,
        "decision": filters.decision,
        "status": filters.status,
        "source": filters.source,
    }
    runs = runs.filter(**{name: value for name, value in exact.items() if value})
    if filters.function:
        runs = runs.filter(function_ids__contains=f" {filters.function} ")
    if filters.since:
        runs = runs.filter(created_at__gte=filters.since)
    if filters.until:
        runs = runs.filter(created_at__lt=filters.until)
    if filters.q:
        q = filters.q.strip()
        runs = runs.filter(Q(id=q) | Q(user_id=q) | Q(user_email__iexact=q))
    return runs.order_by("-created_at", "-id")


def encode_cursor(row: Run | AuditEvent) -> str:
    raw = f"{row.created_at.isoformat()}|{row.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, row_id = raw.split("|", 1)
        return datetime.fromisoformat(created), row_id
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ServiceError(
            "The cursor is not valid.", details={"fields": {"cursor": ["Not a valid cursor."]}}
        ) from None


def _newest_first_page[T: (Run, AuditEvent)](
    rows: QuerySet[T], cursor: str | None, limit: int
) -> tuple[list[T], str | None]:
    """One page of rows ordered by (-created_at, -id), and the next page's cursor."""
    if cursor:
        created, row_id = _decode_cursor(cursor)
        rows = rows.filter(Q(created_at__lt=created) | Q(created_at=created, id__lt=row_id))
    page = list(rows[: limit + 1])
    if len(page) <= limit:
        return page, None
    return page[:limit], encode_cursor(page[limit - 1])


def runs_page(
    *, tenant: Tenant, filters: RunFilters, cursor: str | None, limit: int
) -> tuple[list[Run], str | None]:
    """One page, newest first, and the cursor of the next page (None on the last)."""
    return _newest_first_page(runs_filtered(tenant=tenant, filters=filters), cursor, limit)


# --- Configuration history ------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilters:
    kind: str | None = None
    object: str | None = None  # the object's id (a function id, trigger, key prefix...)
    object_type: str | None = None
    actor: str | None = None  # a username or "key:<prefix>"
    since: datetime | None = None
    until: datetime | None = None


def audit_events_filtered(*, tenant: Tenant, filters: AuditFilters) -> QuerySet[AuditEvent]:
    exact = {
        "kind": filters.kind,
        "object_id": filters.object,
        "object_type": filters.object_type,
        "actor": filters.actor,
        "created_at__gte": filters.since,
        "created_at__lt": filters.until,
    }
    events = AuditEvent.objects.filter(tenant=tenant)
    events = events.filter(**{name: value for name, value in exact.items() if value})
    return events.order_by("-created_at", "-id")


def audit_events_page(
    *, tenant: Tenant, filters: AuditFilters, cursor: str | None, limit: int
) -> tuple[list[AuditEvent], str | None]:
    """The tenant's configuration changes, newest first, one page at a time."""
    events = audit_events_filtered(tenant=tenant, filters=filters)
    return _newest_first_page(events, cursor, limit)


def runs_recent_problems(*, tenant: Tenant, limit: int) -> list[Run]:
    """The newest production runs that denied or failed (test and replay runs left out)."""
    problems = Q(decision=RunDecision.DENY) | Q(
        status__in=[RunStatus.ERROR, RunStatus.TIMEOUT, RunStatus.LOST]
    )
    runs = (
        Run.objects.filter(tenant=tenant, source=RunSource.API)
        .filter(problems)
        .only(
            "id",
            "trigger",
            "decision",
            "status",
            "error_code",
            "error_function",
            "user_email",
            "user_id",
            "created_at",
        )
        .order_by("-created_at")
    )
    return list(runs[:limit])
