"""What a configuration-history row names: each event's object as a label and a console
link, looked up for a whole page of events at once (one query per object type)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode

from apps.audit.models import AuditEvent, AuditKind
from apps.pipelines.models import Function
from apps.tenants.models import ApiKey, Member, Tenant

Link = tuple[str, str]  # (label, url or "")
SUMMARY_LENGTH = 160


def _url(name: str, *args: Any) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:  # an area that is not installed
        return ""


def _functions(keys: set[tuple[int, str]]) -> dict[tuple[int, str], Link]:
    rows = Function.objects.filter(id__in={oid for _, oid in keys}).values_list(
        "tenant_id", "id", "name"
    )
    return {(t, i): (name, _url("console-function-editor", i)) for t, i, name in rows}


def _api_keys(keys: set[tuple[int, str]]) -> dict[tuple[int, str], Link]:
    rows = ApiKey.objects.filter(prefix__in={oid for _, oid in keys}).values_list(
        "tenant_id", "prefix", "pk", "name"
    )
    return {
        (t, prefix): (f"{name} ({prefix}…)", _url("admin:tenants_apikey_change", pk))
        for t, prefix, pk, name in rows
    }


def _members(keys: set[tuple[int, str]]) -> dict[tuple[int, str], Link]:
    ids = [int(oid) for _, oid in keys if oid.isdigit()]
    rows = Member.objects.filter(pk__in=ids).values_list("tenant_id", "pk", "user__username")
    return {
        (t, str(pk)): (username, _url("admin:tenants_member_change", pk))
        for t, pk, username in rows
    }


def _tenants(keys: set[tuple[int, str]]) -> dict[tuple[int, str], Link]:
    ids = [int(oid) for _, oid in keys if oid.isdigit()]
    rows = Tenant.objects.filter(pk__in=ids).values_list("pk", "name")
    return {(pk, str(pk)): (name, _url("admin:tenants_tenant_change", pk)) for pk, name in rows}


def _pipeline(tenant_id: int, trigger: str) -> Link:
    base = _url("console-pipelines")
    return trigger, f"{base}#trigger-{trigger}" if base else ""


def _env_var(tenant_id: int, name: str) -> Link:
    base = _url("console-env")
    return name, f"{base}?{urlencode({'edit': name})}" if base else ""


BULK: dict[str, Callable[[set[tuple[int, str]]], dict[tuple[int, str], Link]]] = {
    "function": _functions,
    "api_key": _api_keys,
    "member": _members,
    "tenant": _tenants,
}
SINGLE: dict[str, Callable[[int, str], Link]] = {"pipeline": _pipeline, "env_var": _env_var}


def _fallback(event: AuditEvent) -> Link:
    # A deleted object keeps its name in the event's details when it had one.
    name = event.details.get("name") or event.details.get("username") if event.details else None
    label = f"{event.object_type} {name or event.object_id}".strip()
    return label or "-", ""


def audit_object_links(events: Iterable[AuditEvent]) -> dict[str, Link]:
    """event id -> (label, url) of the object it changed."""
    events = list(events)
    wanted: dict[str, set[tuple[int, str]]] = defaultdict(set)
    for event in events:
        if event.object_type in BULK and event.object_id:
            wanted[event.object_type].add((event.tenant_id, event.object_id))
    found = {kind: BULK[kind](keys) for kind, keys in wanted.items()}
    links: dict[str, Link] = {}
    for event in events:
        key = (event.tenant_id, event.object_id)
        if event.object_type in SINGLE and event.object_id:
            links[event.id] = SINGLE[event.object_type](*key)
        else:
            links[event.id] = found.get(event.object_type, {}).get(key) or _fallback(event)
    return links


ORDER_KEYS = ("before", "after")  # a reorder's function ids, first to last


def audit_order_names(events: Iterable[AuditEvent]) -> dict[str, dict[str, str]]:
    """event id -> {function id: name} for the orders reorder events record, looked up in
    one query and only among the event's own tenant's functions."""
    events = [event for event in events if event.kind == AuditKind.PIPELINE_REORDERED]
    wanted = {(event.tenant_id, fid) for event in events for fid in _order_ids(event.details)}
    rows = Function.objects.filter(id__in={fid for _, fid in wanted}).values_list(
        "tenant_id", "id", "name"
    )
    found = {(tenant_id, fid): name for tenant_id, fid, name in rows}
    return {
        event.id: {
            fid: found[(event.tenant_id, fid)]
            for fid in _order_ids(event.details)
            if (event.tenant_id, fid) in found
        }
        for event in events
    }


def _order_ids(details: Any) -> list[str]:
    if not isinstance(details, dict):
        return []
    return [
        fid
        for key in ORDER_KEYS
        if isinstance(details.get(key), list)
        for fid in details[key]
        if isinstance(fid, str)
    ]


def _readable(details: Any, names: dict[str, str]) -> Any:
    # A full SHA-256 would fill the column; the detail page shows it whole. Function ids
    # in an order read as the functions' names (a deleted one keeps its id).
    if not isinstance(details, dict):
        return details
    readable = {}
    for key, value in details.items():
        if key.endswith("sha256") and isinstance(value, str):
            value = f"{value[:12]}…"
        elif key in ORDER_KEYS and isinstance(value, list):
            value = [names.get(item, item) if isinstance(item, str) else item for item in value]
        readable[key] = value
    return readable


def audit_summary(details: Any, names: dict[str, str] | None = None) -> str:
    """The details as one line of JSON (never Python's repr), cut to a readable length;
    ``names`` maps the function ids of a reorder to their names."""
    text = json.dumps(_readable(details or {}, names or {}), ensure_ascii=False, sort_keys=True)
    return text if len(text) <= SUMMARY_LENGTH else text[: SUMMARY_LENGTH - 1] + "…"
