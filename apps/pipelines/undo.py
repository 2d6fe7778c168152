"""Undoing a pipeline change from the configuration history.

A reorder or an enable/disable is restored from its audit event's details, through the
same services that made it, so the undo is itself audited (its events carry
``"undo_of": <event id>``) and is live for the very next run. An undo refuses to overwrite
a later change: the pipeline (or function) must still be as the event left it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import QuerySet

from apps.audit.models import UNDOABLE_KINDS, AuditEvent, AuditKind
from apps.audit.selectors import audit_event_for_tenant, audit_event_undoable
from apps.core.actor import Actor
from apps.core.errors import Conflict, ServiceError
from apps.pipelines import services
from apps.pipelines.models import Function, Pipeline
from apps.tenants.models import Tenant


@dataclass(frozen=True)
class UndoPlan:
    """What undoing an event would do now: the pipeline's order now and after the undo
    (a reorder), or the function whose enabled state flips back (an enable/disable)."""

    event: AuditEvent
    trigger: str
    order_now: list[str] = field(default_factory=list)
    order_after: list[str] = field(default_factory=list)
    function: Function | None = None


def pipeline_change_undo_plan(*, tenant: Tenant, event_id: str) -> UndoPlan:
    """What ``pipeline_change_undo`` would change, or the error it would raise, so a
    confirmation can show it; nothing is written."""
    event = audit_event_for_tenant(tenant=tenant, id=event_id)
    return _plan(tenant, event, lock=False)


def pipeline_change_undo(*, tenant: Tenant, event_id: str, actor: Actor) -> AuditEvent:
    """Restore what the event changed; returns the audit event of the undo."""
    event = audit_event_for_tenant(tenant=tenant, id=event_id)
    with transaction.atomic():
        plan = _plan(tenant, event, lock=True)
        if plan.function is None:
            services.pipeline_reorder(
                tenant=tenant,
                trigger=plan.trigger,
                function_ids=plan.order_after,
                actor=actor,
                undo_of=event.id,
            )
        else:
            services.function_update(
                function=plan.function,
                actor=actor,
                comment=f"Undo of {event.id}",
                undo_of=event.id,
                enabled=not plan.function.enabled,
            )
        undo = _undone(event).order_by("-created_at", "-id").first()
    assert undo is not None  # written by the service the undo called
    return undo


def _plan(tenant: Tenant, event: AuditEvent, *, lock: bool) -> UndoPlan:
    if not audit_event_undoable(event):
        raise ServiceError(
            f"A {event.get_kind_display().lower()} event cannot be undone; "
            "reorders and enable/disable changes can.",
            details={"field": "event_id", "kind": event.kind, "undoable": list(UNDOABLE_KINDS)},
        )
    if _undone(event).exists():
        raise Conflict("This change was already undone.", details={"event_id": event.id})
    if event.kind == AuditKind.PIPELINE_REORDERED:
        return _reorder_plan(tenant, event, lock)
    return _enabled_plan(tenant, event, lock)


def _undone(event: AuditEvent) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(tenant_id=event.tenant_id, details__undo_of=event.id)


def _id_list(event: AuditEvent, key: str) -> list[str]:
    value = event.details.get(key)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ServiceError(
            "This event does not record the order it changed, so it cannot be undone.",
            details={"field": "event_id", "missing": key},
        )
    return value


def _reorder_plan(tenant: Tenant, event: AuditEvent, lock: bool) -> UndoPlan:
    before, after = _id_list(event, "before"), _id_list(event, "after")
    trigger = str(event.details.get("trigger") or event.object_id)
    pipelines = Pipeline.objects.filter(tenant=tenant, trigger=trigger)
    pipeline = (pipelines.select_for_update() if lock else pipelines).first()
    current = list(
        Function.objects.filter(pipeline=pipeline).order_by("position").values_list("pk", flat=True)
    )
    present = set(current)
    moved = set(before)
    # Functions added or deleted since are fine; a later reorder of these ones is not.
    if [fid for fid in current if fid in moved] != [fid for fid in after if fid in present]:
        raise Conflict(
            "The pipeline was reordered again since this change; undoing it would "
            "overwrite the later order.",
            details={"trigger": trigger, "current": current, "after": after},
        )
    restored = iter([fid for fid in before if fid in present])
    target = [next(restored) if fid in moved else fid for fid in current]
    if target == current:
        raise Conflict("Nothing to undo: the order is already as it was.", details={})
    return UndoPlan(event=event, trigger=trigger, order_now=current, order_after=target)


def _enabled_plan(tenant: Tenant, event: AuditEvent, lock: bool) -> UndoPlan:
    functions = Function.objects.filter(tenant=tenant, pk=event.object_id)
    found = (functions.select_for_update() if lock else functions).first()
    if found is None:
        raise Conflict(
            "The function was deleted since this change.", details={"function": event.object_id}
        )
    enabled_by_event = event.kind == AuditKind.FUNCTION_ENABLED
    if found.enabled != enabled_by_event:
        state = "enabled" if found.enabled else "disabled"
        raise Conflict(
            f"{found.name} is already {state}; nothing to undo.",
            details={"function": found.pk, "enabled": found.enabled},
        )
    return UndoPlan(event=event, trigger=found.pipeline.trigger, function=found)
