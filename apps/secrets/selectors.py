"""Reading a tenant's env vars. Secret values never leave through here."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.core.errors import NotFound
from apps.secrets.models import EnvVar
from apps.tenants.models import Tenant

MASK = "••••••"


def env_list(*, tenant: Tenant) -> QuerySet[EnvVar]:
    return EnvVar.objects.filter(tenant=tenant).defer("encrypted_value").order_by("name")


def env_var_for_tenant(*, tenant: Tenant, name: str) -> EnvVar:
    """The tenant's var; another tenant's name is simply not found."""
    env_var = EnvVar.objects.filter(tenant=tenant, name=name).first()
    if env_var is None:
        raise NotFound(f"No env var named {name!r}.", details={"name": name})
    return env_var


def env_names(*, tenant: Tenant) -> list[str]:
    """Names only (for templates' required env and configuration export)."""
    return list(
        EnvVar.objects.filter(tenant=tenant).order_by("name").values_list("name", flat=True)
    )


def env_shown_value(env_var: EnvVar) -> str:
    """What people may see: the value of a plain var, a mask for a secret."""
    return MASK if env_var.is_secret else env_var.value
