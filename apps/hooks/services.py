"""Hook secrets (set, verify, rotate) and the replay guard on deliveries.

Secrets reuse the env secrets' encryption (``apps.core.crypto``): Fernet under
``SECRETS_KEYS``, rotated by ``manage.py rotate_secrets`` with the rest.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from apps.audit.models import AuditKind
from apps.audit.services import audit_record
from apps.core import crypto
from apps.core.actor import Actor
from apps.core.errors import Conflict, ServiceError
from apps.hooks.models import HookDelivery, HookKind, HookSecret
from apps.tenants.models import Tenant

# standardwebhooks refuses timestamps more than 5 minutes off; a delivery id is kept for
# longer than that on both sides, so a replay is refused as reused or as stale.
DELIVERY_KEPT = timedelta(minutes=15)
_SECRET_PART = re.compile(r"^(?:v1,)?whsec_([A-Za-z0-9+/]+={0,2})$")
_MIN_SECRET_BYTES = 16
SIGNATURE_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


def _unauthenticated(message: str) -> ServiceError:
    return ServiceError(message, code="authentication_failed", status=401)


def hook_secret_parse(secret: object) -> list[Webhook]:
    """One verifier per secret of ``v1,whsec_...|v1,whsec_...`` (Supabase's format)."""
    if not isinstance(secret, str) or not secret.strip():
        raise ServiceError("'secret' must be a non-empty string.", details={"field": "secret"})
    verifiers = []
    for part in secret.strip().split("|"):
        verifier = _verifier(part.strip())
        if verifier is None:
            raise ServiceError(
                "A hook secret is 'v1,whsec_' followed by base64 of at least 16 bytes, as "
                "the IdP shows it; several may be joined with '|'.",
                details={"field": "secret"},
            )
        verifiers.append(verifier)
    return verifiers


def _verifier(part: str) -> Webhook | None:
    """A verifier for one ``v1,whsec_<base64>`` secret of at least 16 bytes, else None."""
    match = _SECRET_PART.match(part)
    text = match.group(1) if match else ""
    try:
        # Unpadded base64 is taken too, as the standardwebhooks libraries take it.
        key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except binascii.Error:  # base64 of an impossible length
        return None
    return Webhook(key) if len(key) >= _MIN_SECRET_BYTES else None


def hook_secret_set(*, tenant: Tenant, kind: str, secret: object, actor: Actor) -> HookSecret:
    """Create or replace the tenant's secret for ``kind`` (replacing it revokes the old)."""
    if kind not in HookKind.values:
        raise ServiceError(
            f"Unknown hook {kind!r}.",
            code="not_found",
            status=404,
            details={"kind": kind, "valid": list(HookKind.values)},
        )
    hook_secret_parse(secret)
    assert isinstance(secret, str)
    with transaction.atomic():
        row = HookSecret.objects.filter(tenant=tenant, kind=kind).first() or HookSecret(
            tenant=tenant, kind=kind
        )
        row.encrypted_secret = crypto.encrypt(secret.strip())
        row.updated_by_user = actor.user
        row.updated_by = actor.label[:150]
        row.save()
        audit_record(
            tenant=tenant,
            actor=actor,
            kind=AuditKind.SECRET_SET,
            object_type="hook",
            object_id=kind,
            details={"hook": kind},
        )
    return row


def hook_delivery_verify(
    *, tenant_slug: str, kind: str, body: bytes, headers: Mapping[str, str]
) -> tuple[Tenant, str]:
    """The tenant and ``webhook-id`` of a delivery signed with that tenant's secret.

    Every failure is the same 401 (an unknown tenant, no secret, a bad signature or a
    stale timestamp), saying which only where that tells an attacker nothing new.
    """
    row = (
        HookSecret.objects.select_related("tenant")
        .filter(tenant__slug=tenant_slug, kind=kind)
        .first()
    )
    if row is None:
        raise _unauthenticated("No hook secret is set for this URL.")
    try:
        verifiers = hook_secret_parse(crypto.decrypt(row.encrypted_secret))
    except crypto.InvalidToken:
        raise ServiceError(
            "The hook secret cannot be decrypted with SECRETS_KEYS.",
            code="unavailable",
            status=503,
        ) from None
    signed = {name: headers.get(name, "") for name in SIGNATURE_HEADERS}
    problem = "The webhook signature does not verify."
    for verifier in verifiers:
        try:
            verifier.verify(body, signed, json_parse=False)
        except WebhookVerificationError as exc:
            problem = _problem(str(exc))
        except (ValueError, TypeError):
            problem = "The webhook signature headers are malformed."
        else:
            return row.tenant, signed["webhook-id"]
    raise _unauthenticated(problem)


def _problem(reason: str) -> str:
    if "Missing" in reason:
        return "The webhook-id, webhook-timestamp and webhook-signature headers are required."
    if "timestamp" in reason or "Signature Headers" in reason:
        return "The webhook timestamp is missing, malformed or more than 5 minutes off."
    return "The webhook signature does not verify."


@contextmanager
def hook_delivery_once(*, tenant: Tenant, webhook_id: str) -> Iterator[None]:
    """Claims ``webhook_id``; a reused one is a 409. A failed handling releases the claim,
    so the IdP's own retry of the same delivery is still taken."""
    now = timezone.now()
    HookDelivery.objects.filter(received_at__lt=now - DELIVERY_KEPT).delete()
    try:
        with transaction.atomic():
            delivery = HookDelivery.objects.create(
                tenant=tenant, webhook_id=webhook_id[:255], received_at=now
            )
    except IntegrityError:
        raise Conflict(
            "This webhook-id was already delivered.", details={"webhook_id": webhook_id}
        ) from None
    try:
        yield
    except BaseException:
        HookDelivery.objects.filter(pk=delivery.pk).delete()
        raise


def hook_secrets_rotate() -> tuple[int, list[str]]:
    """Re-encrypt every hook secret with the newest key: (count, undecryptable names).

    Called by ``secrets_rotate`` inside its transaction, which is all or nothing.
    """
    undecryptable: list[str] = []
    count = 0
    rows = HookSecret.objects.select_for_update().select_related("tenant").order_by("pk")
    for row in rows:
        try:
            token = crypto.rotate(row.encrypted_secret)
        except crypto.InvalidToken:
            undecryptable.append(f"{row.tenant.slug}/hook:{row.kind}")
            continue
        HookSecret.objects.filter(pk=row.pk).update(encrypted_secret=token)
        count += 1
    return count, undecryptable
