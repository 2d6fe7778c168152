"""Recording configuration changes. Call inside the transaction that makes the change."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from apps.audit.models import AuditEvent, AuditKind
from apps.core.actor import Actor

if TYPE_CHECKING:
    # For the annotation only: tenants' services record events, so importing tenants here
    # at run time would make the two apps import each other.
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
