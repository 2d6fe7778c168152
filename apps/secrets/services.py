"""The only writers of env vars and secrets, and the reader executions use.

Every change writes its audit event (never the value) and bumps the tenant's
``config_version`` in the same transaction, so the next run in any process sees it.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime

from django.db import transaction

from apps.audit.models import AuditKind
from apps.audit.services import audit_record
from apps.core import crypto
from apps.core.actor import Actor
from apps.core.cache import VersionedLru
from apps.core.errors import ServiceError
from apps.hooks.services import hook_secrets_rotate
from apps.secrets.models import NAME_PATTERN, EnvVar
from apps.secrets.redaction import MIN_REDACTABLE_LENGTH
from apps.secrets.selectors import env_var_for_tenant
from apps.tenants.models import Tenant
from apps.tenants.services import tenant_config_bump

logger = logging.getLogger(__name__)

MAX_VALUE_BYTES = 8 * 1024
MAX_VARS_PER_TENANT = 100
_NAME_RE = re.compile(NAME_PATTERN)

EnvMapping = dict[str, str]


def env_name_validate(name: object) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ServiceError(
            "Env var names are 1-64 characters: capital letters, digits and underscores, "
            "not starting with a digit.",
            details={"field": "name", "pattern": NAME_PATTERN},
        )
    return name


def env_value_validate(*, value: object, secret: bool) -> str:
    if not isinstance(value, str):
        raise ServiceError("The value must be a string.", details={"field": "value"})
    if len(value.encode()) > MAX_VALUE_BYTES:
        raise ServiceError(
            f"The value exceeds {MAX_VALUE_BYTES} bytes.",
            details={"field": "value", "limit_bytes": MAX_VALUE_BYTES},
        )
    if "\x00" in value:
        raise ServiceError("The value may not contain NUL characters.", details={"field": "value"})
    if secret and len(value) < MIN_REDACTABLE_LENGTH:
        # Shorter values cannot be redacted from run records without destroying data.
        raise ServiceError(
            f"A secret must be at least {MIN_REDACTABLE_LENGTH} characters long.",
            details={"field": "value", "min_length": MIN_REDACTABLE_LENGTH},
        )
    return value


def env_set(*, tenant: Tenant, name: str, value: str, secret: bool | None, actor: Actor) -> EnvVar:
    """Create or replace a var. ``secret=None`` keeps an existing var's kind (else plain)."""
    name = env_name_validate(name)
    if secret is not None and not isinstance(secret, bool):
        raise ServiceError("'secret' must be true or false.", details={"field": "secret"})
    with transaction.atomic():
        # Locking the tenant serialises writers, so the per-tenant limit holds.
        Tenant.objects.select_for_update().only("pk").get(pk=tenant.pk)
        env_var = EnvVar.objects.filter(tenant=tenant, name=name).first()
        is_secret = secret if secret is not None else bool(env_var and env_var.is_secret)
        value = env_value_validate(value=value, secret=is_secret)
        if env_var is None:
            _check_room(tenant=tenant)
            env_var = EnvVar(tenant=tenant, name=name)
        was_secret = None if env_var.pk is None else env_var.is_secret
        _assign(env_var=env_var, value=value, secret=is_secret, actor=actor)
        env_var.save()
        audit_record(
            tenant=tenant,
            actor=actor,
            kind=AuditKind.SECRET_SET if is_secret else AuditKind.ENV_SET,
            object_type="env_var",
            object_id=name,
            details={"name": name, "secret": is_secret, "previously_secret": was_secret},
        )
        _changed(tenant=tenant)
    return env_var


def env_delete(*, tenant: Tenant, name: str, actor: Actor) -> None:
    with transaction.atomic():
        env_var = env_var_for_tenant(tenant=tenant, name=name)
        audit_record(
            tenant=tenant,
            actor=actor,
            kind=AuditKind.ENV_DELETED,
            object_type="env_var",
            object_id=name,
            details={"name": name, "secret": env_var.is_secret},
        )
        env_var.delete()
        _changed(tenant=tenant)


def _check_room(*, tenant: Tenant) -> None:
    if EnvVar.objects.filter(tenant=tenant).count() >= MAX_VARS_PER_TENANT:
        raise ServiceError(
            f"A tenant may have at most {MAX_VARS_PER_TENANT} env vars.",
            details={"field": "name", "limit": MAX_VARS_PER_TENANT},
        )


def _assign(*, env_var: EnvVar, value: str, secret: bool, actor: Actor) -> None:
    env_var.is_secret = secret
    env_var.value = "" if secret else value
    env_var.encrypted_value = crypto.encrypt(value) if secret else ""
    env_var.updated_by_user = actor.user
    env_var.updated_by = actor.label[:150]


def _changed(*, tenant: Tenant) -> None:
    tenant_config_bump(tenant=tenant)
    tenant.refresh_from_db(fields=["config_version"])
    # This process learns of the change at once; others through config_version.
    _execution_env.discard((tenant.pk, tenant.created_at))


# (tenant id, created_at) -> (env, secrets) at the tenant's config_version. Decrypted values
# stay in this process's memory only. created_at too: a deleted tenant's id may be reused
# (SQLite) by a new tenant at the same version.
_execution_env: VersionedLru[tuple[int, datetime], tuple[EnvMapping, EnvMapping]] = VersionedLru(
    1024
)


def env_for_execution(*, tenant: Tenant) -> tuple[EnvMapping, EnvMapping]:
    """(NAME -> value for functions incl. decrypted secrets, NAME -> value of secrets only).

    One query on a miss; cached per process on the tenant's ``config_version``.
    Callers get fresh dicts they may change.
    """
    key = (tenant.pk, tenant.created_at)
    cached = _execution_env.get(key, tenant.config_version)
    if cached is None:
        cached = _load_for_execution(tenant=tenant)
        _execution_env.put(key, tenant.config_version, cached)
    return dict(cached[0]), dict(cached[1])


def _load_for_execution(*, tenant: Tenant) -> tuple[EnvMapping, EnvMapping]:
    env: EnvMapping = {}
    secrets: EnvMapping = {}
    rows = EnvVar.objects.filter(tenant=tenant).values_list(
        "name", "is_secret", "value", "encrypted_value"
    )
    for name, is_secret, value, token in rows:
        if is_secret:
            value = secrets[name] = _decrypt_for(tenant=tenant, name=name, token=token)
        env[name] = value
    return env, secrets


def _decrypt_for(*, tenant: Tenant, name: str, token: str) -> str:
    try:
        return crypto.decrypt(token)
    except crypto.InvalidToken:
        logger.error(
            "Secret %s of tenant %s cannot be decrypted with any key in SECRETS_KEYS",
            name,
            tenant.slug,
        )
        raise ServiceError(
            "A secret cannot be decrypted with the configured SECRETS_KEYS; "
            "an operator must restore the key it was encrypted with.",
            code="unavailable",
            status=503,
            details={"name": name},
        ) from None


def secrets_rotate() -> int:
    """Re-encrypt every secret with the newest key; all or nothing. Returns the count."""
    undecryptable: list[str] = []
    count = 0
    with transaction.atomic():
        secrets = EnvVar.objects.select_for_update().filter(is_secret=True).select_related("tenant")
        for env_var in secrets.order_by("pk"):
            try:
                env_var.encrypted_value = crypto.rotate(env_var.encrypted_value)
            except crypto.InvalidToken:
                undecryptable.append(f"{env_var.tenant.slug}/{env_var.name}")
                continue
            # updated_at stays: the value did not change, only its encryption.
            EnvVar.objects.filter(pk=env_var.pk).update(encrypted_value=env_var.encrypted_value)
            count += 1
        hook_count, hook_undecryptable = hook_secrets_rotate()
        count += hook_count
        undecryptable += hook_undecryptable
        if undecryptable:
            raise ServiceError(
                "No key in SECRETS_KEYS decrypts: " + ", ".join(undecryptable),
                details={"secrets": undecryptable},
            )
    return count
