"""Append-only record of configuration changes: who changed what, when, with the details."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.core.ids import new_id


class AuditKind(models.TextChoices):
    TENANT_CREATED = "tenant.created", "Tenant created"
    MEMBER_ADDED = "member.added", "Member added"
    MEMBER_CHANGED = "member.changed", "Member role changed"
    MEMBER_REMOVED = "member.removed", "Member removed"
    KEY_CREATED = "api_key.created", "API key created"
    KEY_REVOKED = "api_key.revoked", "API key revoked"
    FUNCTION_CREATED = "function.created", "Function created"
    DRAFT_SAVED = "function.draft_saved", "Draft saved"
    FUNCTION_SETTINGS = "function.settings_changed", "Function settings changed"
    FUNCTION_PUBLISHED = "function.published", "Function published"
    FUNCTION_ROLLED_BACK = "function.rolled_back", "Function rolled back"
    FUNCTION_ENABLED = "function.enabled", "Function enabled"
    FUNCTION_DISABLED = "function.disabled", "Function disabled"
    FUNCTION_DELETED = "function.deleted", "Function deleted"
    PIPELINE_REORDERED = "pipeline.reordered", "Pipeline reordered"
    PIPELINE_SETTINGS = "pipeline.settings_changed", "Pipeline settings changed"
    ENV_SET = "env.set", "Env var set"
    SECRET_SET = "secret.set", "Secret set"
    ENV_DELETED = "env.deleted", "Env var deleted"
    CONFIG_IMPORTED = "config.imported", "Configuration imported"


# Pipeline changes that the configuration history can undo (apps.pipelines.undo).
UNDOABLE_KINDS: tuple[str, ...] = (
    AuditKind.PIPELINE_REORDERED,
    AuditKind.FUNCTION_ENABLED,
    AuditKind.FUNCTION_DISABLED,
)


def _audit_id() -> str:
    return new_id("evt")


class AuditEvent(models.Model):
    id = models.CharField(primary_key=True, max_length=40, default=_audit_id, editable=False)
    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.CASCADE, related_name="audit_events"
    )
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    actor = models.CharField(max_length=150)
    kind = models.CharField(max_length=40, choices=AuditKind.choices)
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # The table kept its name when the model moved here from apps.runs.
        db_table = "runs_auditevent"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="audit_tenant_created"),
            models.Index(fields=["tenant", "object_type", "object_id"], name="audit_tenant_object"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.actor}"
