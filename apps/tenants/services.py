"""The only writers of tenants, members and API keys; each writes its audit event."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from apps.core.actor import Actor
from apps.core.errors import Conflict, ServiceError
from apps.runs.audit import audit_record
from apps.runs.models import AuditKind
from apps.tenants.models import ALL_SCOPES, ApiKey, Member, Role, Tenant, slug_validator

KEY_PREFIX = "gp_"
PREFIX_LENGTH = len(KEY_PREFIX) + 8


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
    *, tenant: Tenant, name: str, scopes: Iterable[str], actor: Actor
) -> tuple[ApiKey, str]:
    """Create a key and return it with the raw secret, which is never stored."""
    clean_scopes = normalize_scopes(scopes)
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


def api_key_revoke(*, api_key: ApiKey, actor: Actor) -> ApiKey:
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


def member_invite(*, tenant: Tenant, identifier: str, role: str, actor: Actor) -> Member:
    """Adds an existing user, named by username or email, to the tenant (audited by
    ``member_set``). A current member is refused rather than silently re-roled."""
    identifier = identifier.strip()
    users = get_user_model().objects
    user = users.filter(username=identifier).first()
    if user is None and "@" in identifier:
        matches = list(users.filter(email__iexact=identifier)[:2])
        if len(matches) > 1:
            raise ServiceError(
                "Several users have this email; invite by username.",
                details={"field": "username"},
            )
        user = matches[0] if matches else None
    if user is None:
        raise ServiceError(
            f"No user with the username or email {identifier!r}. The account must exist first.",
            details={"field": "username"},
        )
    if Member.objects.filter(tenant=tenant, user=user).exists():
        raise Conflict(
            f"{user.get_username()} is already a member of {tenant.name}.",
            details={"field": "username"},
        )
    return member_set(tenant=tenant, username=user.get_username(), role=role, actor=actor)
