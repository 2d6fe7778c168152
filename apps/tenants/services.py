"""The only writers of tenants, members and API keys; each writes its audit event."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.audit.models import AuditKind
from apps.audit.services import audit_record
from apps.core.actor import Actor
from apps.core.errors import Conflict, NotFound, ServiceError
from apps.tenants.models import (
    ALL_SCOPES,
    ApiKey,
    Member,
    Role,
    Scope,
    Tenant,
    slug_validator,
)

KEY_PREFIX = "gp_"
PREFIX_LENGTH = len(KEY_PREFIX) + 8
# Least privilege: a new key only executes pipelines unless more is asked for.
DEFAULT_KEY_SCOPES: tuple[str, ...] = (Scope.EXECUTE,)


def hash_key(raw_key: str) -> str:
    # The key holds 256 random bits, so a fast hash is as strong as a slow one here.
    return hashlib.sha256(raw_key.encode()).hexdigest()


def tenant_create(*, slug: str, name: str = "", actor: Actor | None = None) -> Tenant:
    from django.core.exceptions import ValidationError

    try:
        slug_validator(slug)
    except ValidationError as exc:
        raise ServiceError(exc.messages[0], details={"field": "slug"}) from None
    with transaction.atomic():
        if Tenant.objects.filter(slug=slug).exists():
            raise Conflict(f"A tenant with slug {slug!r} already exists.", details={"slug": slug})
        tenant = Tenant.objects.create(slug=slug, name=name or slug)
        audit_record(
            tenant=tenant,
            actor=actor or Actor.system(),
            kind=AuditKind.TENANT_CREATED,
            object_type="tenant",
            object_id=tenant.pk,
            details={"slug": slug},
        )
    return tenant


def tenant_config_bump(*, tenant: Tenant) -> None:
    """Mark the tenant's executable configuration as changed (see ``Tenant.config_version``)."""
    from django.db.models import F

    Tenant.objects.filter(pk=tenant.pk).update(config_version=F("config_version") + 1)


def normalize_scopes(scopes: Iterable[str]) -> list[str]:
    cleaned = sorted({scope.strip() for scope in scopes if scope.strip()})
    unknown = [scope for scope in cleaned if scope not in ALL_SCOPES]
    if unknown or not cleaned:
        raise ServiceError(
            f"Scopes must be a non-empty subset of {', '.join(ALL_SCOPES)}.",
            details={"field": "scopes", "unknown": unknown},
        )
    return cleaned


def api_key_create(
    *, tenant: Tenant, name: str, scopes: Iterable[str] | None = None, actor: Actor
) -> tuple[ApiKey, str]:
    """Create a key and return it with the raw secret, which is never stored.

    Without ``scopes`` the key may only execute (``DEFAULT_KEY_SCOPES``)."""
    clean_scopes = normalize_scopes(DEFAULT_KEY_SCOPES if scopes is None else scopes)
    name = name.strip() or "API key"
    with transaction.atomic():
        while True:
            raw_key = KEY_PREFIX + secrets.token_urlsafe(32)
            prefix = raw_key[:PREFIX_LENGTH]
            if not ApiKey.objects.filter(prefix=prefix).exists():
                break
        api_key = ApiKey.objects.create(
            tenant=tenant,
            name=name[:100],
            prefix=prefix,
            hashed_key=hash_key(raw_key),
            scopes=clean_scopes,
            created_by=actor.user,
        )
        audit_record(
            tenant=tenant,
            actor=actor,
            kind=AuditKind.KEY_CREATED,
            object_type="api_key",
            object_id=api_key.prefix,
            details={"name": api_key.name, "scopes": clean_scopes},
        )
    return api_key, raw_key


def api_key_for_tenant(*, tenant: Tenant, prefix: str) -> ApiKey:
    """The tenant's key with this prefix; another tenant's key is as unknown as none."""
    api_key = ApiKey.objects.filter(tenant=tenant, prefix=prefix).first()
    if api_key is None:
        raise NotFound("No API key with this prefix.", details={"prefix": prefix})
    return api_key


def api_key_revoke(*, api_key: ApiKey, actor: Actor) -> ApiKey:
    """Revoke at once (idempotent: revoking a revoked key changes and records nothing)."""
    with transaction.atomic():
        api_key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
        if api_key.revoked_at is None:
            api_key.revoked_at = timezone.now()
            api_key.save(update_fields=["revoked_at"])
            audit_record(
                tenant=api_key.tenant,
                actor=actor,
                kind=AuditKind.KEY_REVOKED,
                object_type="api_key",
                object_id=api_key.prefix,
                details={"name": api_key.name},
            )
    return api_key


def member_set(*, tenant: Tenant, username: str, role: str, actor: Actor) -> Member:
    if role not in Role.values:
        raise ServiceError("Unknown role.", details={"field": "role"})
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise ServiceError(f"No user named {username!r}.", details={"field": "username"})
    with transaction.atomic():
        member, created = Member.objects.get_or_create(
            user=user, tenant=tenant, defaults={"role": role}
        )
        if not created and member.role == role:
            return member
        before = member.role
        member.role = role
        member.save(update_fields=["role"])
        audit_record(
            tenant=tenant,
            actor=actor,
            kind=AuditKind.MEMBER_ADDED if created else AuditKind.MEMBER_CHANGED,
            object_type="member",
            object_id=member.pk,
            details={
                "username": username,
                "role": role,
                "previous_role": None if created else before,
            },
        )
    return member


def _user_by_identifier(identifier: str) -> Any:
    """The user with this username, else the one user with this email (any case)."""
    users = get_user_model().objects
    user = users.filter(username=identifier).first()
    if user is not None:
        return user
    if "@" in identifier:
        matches = list(users.filter(email__iexact=identifier)[:2])
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise ServiceError(
                "Several users have this email; invite one of them by username.",
                details={"field": "identifier"},
            )
    raise ServiceError(
        f"No user with the username or email {identifier!r}. They need an account first.",
        details={"field": "identifier"},
    )


def member_invite(*, tenant: Tenant, identifier: str, role: str, actor: Actor) -> Member:
    """Add an existing user (by username or email) to the tenant with a role.

    Unlike ``member_set`` it never changes an existing membership: inviting a member
    twice is a conflict that names their current role.
    """
    if not isinstance(identifier, str) or not identifier.strip():
        raise ServiceError("Give a username or an email.", details={"field": "identifier"})
    if role not in Role.values:
        raise ServiceError(
            f"Role must be one of {', '.join(Role.values)}.", details={"field": "role"}
        )
    user = _user_by_identifier(identifier.strip())
    with transaction.atomic():
        existing = Member.objects.filter(user=user, tenant=tenant).first()
        if existing is not None:
            raise Conflict(
                f"{user.get_username()} is already a member ({existing.role}).",
                details={"field": "identifier", "role": existing.role},
            )
        try:
            with transaction.atomic():
                member = Member.objects.create(user=user, tenant=tenant, role=role)
        except IntegrityError:  # invited at the same moment by someone else
            raise Conflict(
                f"{user.get_username()} is already a member.", details={"field": "identifier"}
            ) from None
        audit_record(
            tenant=tenant,
            actor=actor,
            kind=AuditKind.MEMBER_ADDED,
            object_type="member",
            object_id=member.pk,
            details={
                "username": user.get_username(),
                "role": role,
                "previous_role": None,
                "invited_by": "email" if identifier.strip() != user.get_username() else "username",
            },
        )
    return member


def member_remove(*, member: Member, actor: Actor) -> None:
    with transaction.atomic():
        audit_record(
            tenant=member.tenant,
            actor=actor,
            kind=AuditKind.MEMBER_REMOVED,
            object_type="member",
            object_id=member.pk,
            details={"username": member.user.get_username(), "role": member.role},
        )
        member.delete()
