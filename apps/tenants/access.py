"""Who is calling and what they may do, for API keys and console sessions alike.

Every tenant-owned lookup goes through a helper that takes the tenant; the
principal built here is where that tenant comes from.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from apps.core.actor import Actor
from apps.tenants.models import ApiKey, Member, Role, Scope, Tenant
from apps.tenants.services import KEY_PREFIX, PREFIX_LENGTH, hash_key

ROLE_SCOPES: dict[str, frozenset[str]] = {
    Role.OWNER: frozenset(Scope.values),
    Role.DEVELOPER: frozenset(Scope.values),
    Role.VIEWER: frozenset({Scope.RUNS_READ}),
}
SESSION_TENANT_KEY = "genauth_tenant_id"
LAST_USED_GRANULARITY = timedelta(minutes=1)


@dataclass(frozen=True)
class Principal:
    tenant: Tenant
    scopes: frozenset[str]
    role: str | None = None  # set for console sessions
    api_key: ApiKey | None = None
    user: Any | None = None
    _label: str = field(default="")

    @property
    def caller(self) -> str:
        if self.api_key is not None:
            return f"key:{self.api_key.prefix}"
        return f"user:{self.user.get_username()}" if self.user is not None else "system"

    @property
    def actor(self) -> Actor:
        if self.user is not None:
            return Actor.for_user(self.user)
        return Actor(user=None, label=self.caller)

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    @property
    def can_read_config(self) -> bool:
        # Viewers (sessions) read configuration; keys need the manage scope.
        return self.role is not None or Scope.MANAGE in self.scopes

    @property
    def can_write_config(self) -> bool:
        return Scope.MANAGE in self.scopes

    @property
    def is_owner(self) -> bool:
        return self.role == Role.OWNER or (self.user is not None and self.user.is_superuser)


def principal_for_api_key(raw_key: str) -> Principal | None:
    """Resolve a bearer key to its tenant, or None for an unknown or revoked key."""
    if not raw_key.startswith(KEY_PREFIX) or len(raw_key) < PREFIX_LENGTH + 24:
        return None
    api_key = (
        ApiKey.objects.select_related("tenant")
        .filter(prefix=raw_key[:PREFIX_LENGTH], revoked_at__isnull=True)
        .first()
    )
    if api_key is None or not hmac.compare_digest(api_key.hashed_key, hash_key(raw_key)):
        return None
    _touch(api_key)
    return Principal(tenant=api_key.tenant, scopes=frozenset(api_key.scopes), api_key=api_key)


def _touch(api_key: ApiKey) -> None:
    # Written at most once a minute per key: a write per request would double the hot path.
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_GRANULARITY:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now


def tenants_for_user(user: Any) -> list[Tenant]:
    if not getattr(user, "is_authenticated", False):
        return []
    if user.is_superuser:
        return list(Tenant.objects.all())
    return list(Tenant.objects.filter(members__user=user))


def role_for(user: Any, tenant: Tenant) -> str | None:
    if user.is_superuser:
        return Role.OWNER
    member = Member.objects.filter(user=user, tenant=tenant).only("role").first()
    return member.role if member else None


def principal_for_session(request: HttpRequest) -> Principal | None:
    """The current member's tenant: the one chosen in the session, else the first."""
    user = request.user
    tenants = tenants_for_user(user)
    if not tenants:
        return None
    chosen_id = request.session.get(SESSION_TENANT_KEY)
    tenant = next((t for t in tenants if t.pk == chosen_id), tenants[0])
    role = role_for(user, tenant)
    if role is None:
        return None
    return Principal(tenant=tenant, scopes=ROLE_SCOPES[role], role=role, user=user)


def choose_tenant(request: HttpRequest, tenant_id: int) -> bool:
    if any(t.pk == tenant_id for t in tenants_for_user(request.user)):
        request.session[SESSION_TENANT_KEY] = tenant_id
        return True
    return False
