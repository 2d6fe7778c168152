"""Native IdP hooks: each tenant's signing secrets and the deliveries already taken."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class HookKind(models.TextChoices):
    SUPABASE_BEFORE_USER_CREATED = (
        "supabase.before_user_created",
        "Supabase Auth: Before User Created",
    )
    SUPABASE_CUSTOM_ACCESS_TOKEN = (
        "supabase.custom_access_token",
        "Supabase Auth: Custom Access Token",
    )


class HookSecret(models.Model):
    """A Standard Webhooks secret (``v1,whsec_...``, several joined by ``|``), encrypted
    with the keys of ``SECRETS_KEYS`` like env secrets; write-only."""

    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.CASCADE, related_name="hook_secrets"
    )
    kind = models.CharField(max_length=40, choices=HookKind.choices)
    encrypted_secret = models.TextField(editable=False)
    updated_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tenant", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "kind"], name="hooksecret_unique_kind"),
        ]

    def __str__(self) -> str:
        return self.get_kind_display()


class HookDelivery(models.Model):
    """A ``webhook-id`` already taken from a tenant's IdP: the same id again is a replay.

    Rows outlive the signature's timestamp tolerance, after which a replayed delivery is
    refused as stale anyway, and are then pruned.
    """

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    webhook_id = models.CharField(max_length=255)
    received_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "webhook_id"], name="hookdelivery_unique_webhook_id"
            ),
        ]

    def __str__(self) -> str:
        return self.webhook_id
