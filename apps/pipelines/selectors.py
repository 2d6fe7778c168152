"""Reads of pipelines, functions and releases, always scoped by tenant."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Count, QuerySet

from apps.core.errors import NotFound
from apps.core.triggers import trigger_named
from apps.pipelines.models import Function, Pipeline, Release
from apps.tenants.models import Tenant


def pipeline_for_tenant(*, tenant: Tenant, trigger: str) -> Pipeline:
    """The tenant's pipeline for ``trigger``, created on first use (404 for unknown triggers)."""
    trigger = trigger_named(trigger).name
    pipeline, _ = Pipeline.objects.get_or_create(tenant=tenant, trigger=trigger)
    return pipeline


def pipeline_find(*, tenant: Tenant, trigger: str) -> Pipeline | None:
    """Like ``pipeline_for_tenant`` but never writes: None when the pipeline has no row yet."""
    trigger = trigger_named(trigger).name
    return Pipeline.objects.filter(tenant=tenant, trigger=trigger).first()


def pipeline_function_counts(*, tenant: Tenant) -> dict[str, tuple[dict[str, Any], int]]:
    """trigger -> (settings, number of functions) for the tenant's existing pipelines."""
    rows = Pipeline.objects.filter(tenant=tenant).annotate(count=Count("functions"))
    return {row.trigger: (row.settings, row.count) for row in rows}


def _functions() -> QuerySet[Function]:
    return Function.objects.select_related("pipeline", "live_release")


def functions_for_pipeline(*, pipeline: Pipeline | None) -> list[Function]:
    """The pipeline's functions in execution order (empty for a pipeline not created yet)."""
    if pipeline is None:
        return []
    return list(_functions().filter(pipeline=pipeline).order_by("position"))


def pipelines_by_trigger(*, tenant: Tenant) -> dict[str, Pipeline]:
    """The tenant's existing pipelines by trigger name."""
    return {p.trigger: p for p in Pipeline.objects.filter(tenant=tenant)}


def tenant_functions(*, tenant: Tenant) -> list[Function]:
    """Every function of the tenant, with its pipeline and live release, by position."""
    return list(_functions().filter(tenant=tenant).order_by("position"))


def function_choices(*, tenant: Tenant) -> list[tuple[str, str]]:
    """(id, name) of the tenant's functions by name, for filters that narrow to one."""
    rows = Function.objects.filter(tenant=tenant).order_by("name").values_list("id", "name")
    return list(rows)


def function_ids_existing(*, tenant_id: int, ids: Iterable[str]) -> set[str]:
    """Which of ``ids`` are functions of the tenant still (a run may outlive one)."""
    rows = Function.objects.filter(tenant_id=tenant_id, id__in=list(ids))
    return set(rows.values_list("id", flat=True))


def functions_with_live_release(*, tenant: Tenant, ids: Iterable[str]) -> dict[str, Function]:
    """The tenant's functions among ``ids`` by id, each with its live release."""
    rows = Function.objects.filter(tenant=tenant, pk__in=list(ids)).select_related("live_release")
    return {function.pk: function for function in rows}


def function_names_by_key(*, keys: set[tuple[int, str]]) -> dict[tuple[int, str], str]:
    """(tenant id, function id) -> name, for the pairs whose function still exists."""
    rows = Function.objects.filter(
        tenant_id__in={tenant_id for tenant_id, _ in keys}, id__in={fid for _, fid in keys}
    ).values_list("tenant_id", "id", "name")
    return {(t, fid): name for t, fid, name in rows if (t, fid) in keys}


def function_for_tenant(*, tenant: Tenant, id: str) -> Function:
    """The tenant's function; another tenant's id is as unknown as a made-up one."""
    function = _functions().filter(tenant=tenant, pk=id).first() if isinstance(id, str) else None
    if function is None:
        raise NotFound("No function with this id.", details={"id": str(id)})
    return function


def releases_for_function(
    *, function: Function, before: int | None = None, limit: int | None = None
) -> list[Release]:
    """Newest first; ``before`` is the cursor (a version number) for the next page."""
    releases = Release.objects.filter(function=function).order_by("-version")
    if before is not None:
        releases = releases.filter(version__lt=before)
    return list(releases[:limit] if limit is not None else releases)


MAX_VERSION = 2**31 - 1


def release_for_function(*, function: Function, version: int) -> Release:
    release = None
    if 1 <= version <= MAX_VERSION:
        release = Release.objects.filter(function=function, version=version).first()
    if release is None:
        raise NotFound(
            f"{function.name} has no version {version}.",
            details={"version": version},
        )
    return release


def function_draft_history(*, function: Function) -> list[dict[str, Any]]:
    """Every saved draft, newest first, with author and comment (django-reversion)."""
    from reversion.models import Version

    versions = (
        Version.objects.get_for_object(function)
        .select_related("revision", "revision__user", "revision__author")
        .order_by("-revision__date_created", "-pk")
    )
    history = []
    for version in versions:
        revision = version.revision
        author = getattr(revision, "author", None)
        history.append(
            {
                "revision_id": revision.pk,
                "created_at": revision.date_created,
                "author": author.label if author else _username(revision.user),
                "comment": revision.comment,
                "code": version.field_dict.get("code", ""),
            }
        )
    return history


def _username(user: Any) -> str:
    return user.get_username() if user is not None else ""
