"""What a tenant's hooks look like to its members: never a secret's value."""

from __future__ import annotations

from typing import Any

from apps.hooks.models import HookKind, HookSecret
from apps.tenants.models import Tenant

# The path of each Supabase hook below /api/v1/hooks/supabase/<tenant slug>/.
SUPABASE_PATHS = {
    HookKind.SUPABASE_BEFORE_USER_CREATED: "before-user-created",
    HookKind.SUPABASE_CUSTOM_ACCESS_TOKEN: "custom-access-token",
}


def hook_list(*, tenant: Tenant) -> list[dict[str, Any]]:
    """Every hook kind with its path and whether (when, by whom) a secret was set."""
    rows = {
        row.kind: row for row in HookSecret.objects.filter(tenant=tenant).defer("encrypted_secret")
    }
    hooks = []
    for kind in HookKind:
        row = rows.get(kind.value)
        hooks.append(
            {
                "kind": kind.value,
                "name": kind.label,
                "path": f"/api/v1/hooks/supabase/{tenant.slug}/{SUPABASE_PATHS[kind]}",
                "secret_set": row is not None,
                "updated_at": row.updated_at.isoformat() if row else None,
                "updated_by": row.updated_by if row else None,
            }
        )
    return hooks
