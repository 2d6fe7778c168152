"""Reading the configuration history."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from apps.audit.models import UNDOABLE_KINDS, AuditEvent
from apps.core.errors import NotFound

if TYPE_CHECKING:
    from apps.tenants.models import Tenant


def audit_event_for_tenant(*, tenant: Tenant, id: str) -> AuditEvent:
    event = AuditEvent.objects.filter(tenant=tenant, id=id).first()
    if event is None:
        raise NotFound("No such audit event.", details={"event_id": id})
    return event


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
