"""Reads of tenants, members and API keys for pages that name them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet

from apps.tenants.models import ApiKey, Member, Tenant

Key = tuple[int, str]  # (tenant id, the object's id as an audit event names it)


def tenant_choices(*, user: Any, tenant: Tenant | None) -> QuerySet[Tenant]:
    """The tenants a form may offer: every one to a superuser, else the current one."""
    if user.is_superuser:
        return Tenant.objects.all()
    if tenant is None:
        return Tenant.objects.none()
    return Tenant.objects.filter(pk=tenant.pk)


def _tenant_ids(keys: Iterable[Key]) -> set[int]:
    return {tenant_id for tenant_id, _ in keys}


def api_keys_by_prefix(*, keys: set[Key]) -> dict[Key, tuple[int, str]]:
    """(tenant id, prefix) -> (pk, name) of the keys that still exist in that tenant."""
    rows = ApiKey.objects.filter(
        tenant_id__in=_tenant_ids(keys), prefix__in={prefix for _, prefix in keys}
    ).values_list("tenant_id", "prefix", "pk", "name")
    return {(t, prefix): (pk, name) for t, prefix, pk, name in rows if (t, prefix) in keys}


def member_usernames(*, keys: set[Key]) -> dict[Key, str]:
    """(tenant id, member pk) -> username of the members still in that tenant."""
    ids = [int(oid) for _, oid in keys if oid.isdigit()]
    rows = Member.objects.filter(tenant_id__in=_tenant_ids(keys), pk__in=ids).values_list(
        "tenant_id", "pk", "user__username"
    )
    return {(t, str(pk)): username for t, pk, username in rows if (t, str(pk)) in keys}


def tenant_names(*, keys: set[Key]) -> dict[Key, str]:
    """(tenant id, tenant pk) -> name; a tenant's own events name the tenant itself."""
    ids = [int(oid) for t, oid in keys if oid.isdigit() and int(oid) == t]
    rows = Tenant.objects.filter(pk__in=ids).values_list("pk", "name")
    return {(pk, str(pk)): name for pk, name in rows}
