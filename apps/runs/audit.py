"""Recording configuration changes. Call inside the transaction that makes the change."""

from __future__ import annotations

from typing import Any

from apps.core.actor import Actor
from apps.runs.models import UNDOABLE_KINDS, AuditEvent, AuditKind
from apps.tenants.models import Tenant


def audit_record(
    *,
    tenant: Tenant,
    actor: Actor,
    kind: AuditKind,
    object_type: str = "",
    object_id: str | int = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        tenant=tenant,
        actor_user=actor.user,
        actor=actor.label[:150],
        kind=kind,
        object_type=object_type,
        object_id=str(object_id),
        details=details or {},
    )


def audit_event_undoable(event: AuditEvent) -> bool:
    """Whether this kind of change can be undone (the current state may still refuse it)."""
    return event.kind in UNDOABLE_KINDS


def audit_event_to_dict(event: AuditEvent) -> dict[str, Any]:
    """The API's audit event: who did what to which object, when, with the details."""
    return {
        "id": event.id,
        "kind": event.kind,
        "description": event.get_kind_display(),
        "actor": event.actor,
        "object_type": event.object_type or None,
        "object_id": event.object_id or None,
        "details": event.details,
        "created_at": event.created_at.isoformat(),
        "undoable": audit_event_undoable(event),
    }
