"""Tenant env vars exposed to functions as ``env.NAME``; secrets are stored encrypted."""

from __future__ import annotations

from django.conf import settings
from django.db import models

NAME_PATTERN = r"^[A-Z_][A-Z0-9_]{0,63}$"


class EnvVar(models.Model):
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="env_vars")
    name = models.CharField(max_length=64)
    is_secret = models.BooleanField(default=False)
    # Plain vars only; a secret keeps this empty and its Fernet token in encrypted_value.
    value = models.TextField(blank=True, default="")
    encrypted_value = models.TextField(blank=True, default="", editable=False)
    updated_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The actor's label: API keys have no user, and users may be deleted.
    updated_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tenant", "name"]
        verbose_name = "env var"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="envvar_unique_tenant_name"),
            # A secret's plaintext must never sit in the clear column.
            models.CheckConstraint(
                condition=(models.Q(is_secret=True, value="") & ~models.Q(encrypted_value=""))
                | models.Q(is_secret=False, encrypted_value=""),
                name="envvar_secret_only_encrypted",
            ),
        ]

    def __str__(self) -> str:
        return self.name
