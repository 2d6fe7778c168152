"""Append-only records of executions (Run) and the idempotency keys that name them."""

from __future__ import annotations

from django.db import models

from apps.core.ids import new_id


class RunSource(models.TextChoices):
    API = "api", "API"
    TEST = "test", "Test"
    REPLAY = "replay", "Replay"


class RunDecision(models.TextChoices):
    ALLOW = "allow", "Allow"
    DENY = "deny", "Deny"


class RunStatus(models.TextChoices):
    """How the run went, as opposed to what the IdP was told (the decision)."""

    QUEUED = "queued", "Queued"  # some step has not run yet (async mode or async functions)
    OK = "ok", "OK"
    DENIED = "denied", "Denied"  # a function called back with an error
    ERROR = "error", "Error"  # a step threw, crashed or its worker was lost
    TIMEOUT = "timeout", "Timeout"
    # Its process died after the code started and before the outcome was stored; recorded by
    # the sweep of apps/runs/journal.py. No decision reached the caller.
    LOST = "lost", "Lost"


class RunMode(models.TextChoices):
    SYNC = "sync", "Sync"
    ASYNC = "async", "Async"


def _run_id() -> str:
    return new_id("run")


class Run(models.Model):
    """Written once when the execution ends; only async step completion updates it."""

    id = models.CharField(primary_key=True, max_length=40, default=_run_id, editable=False)
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="runs")
    trigger = models.CharField(max_length=40)
    source = models.CharField(max_length=10, choices=RunSource.choices, default=RunSource.API)
    mode = models.CharField(max_length=5, choices=RunMode.choices, default=RunMode.SYNC)
    decision = models.CharField(max_length=5, choices=RunDecision.choices, blank=True)
    status = models.CharField(max_length=10, choices=RunStatus.choices)
    error_code = models.CharField(max_length=100, blank=True)
    error_message = models.TextField(blank=True)
    error_function = models.CharField(max_length=100, blank=True)
    input = models.JSONField(default=dict)  # {"user", "context"}
    # {"user", "context", "custom_data", "id_token_claims", "access_token_claims"}
    output = models.JSONField(default=dict)
    steps = models.JSONField(default=list)
    duration_ms = models.FloatField(default=0)
    caller = models.CharField(max_length=160)
    idempotency_key = models.CharField(max_length=200, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    # Denormalised for the audit-log review: filters and search without JSON queries.
    user_id = models.CharField(max_length=200, blank=True)
    user_email = models.CharField(max_length=254, blank=True)
    function_ids = models.TextField(blank=True)  # " fn_A fn_B " (space-delimited)
    async_attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="run_tenant_created"),
            models.Index(
                fields=["tenant", "trigger", "-created_at"], name="run_tenant_trigger_created"
            ),
            models.Index(
                fields=["tenant", "decision", "-created_at"], name="run_tenant_decision_created"
            ),
            models.Index(
                fields=["tenant", "status", "-created_at"], name="run_tenant_status_created"
            ),
            models.Index(fields=["tenant", "user_id"], name="run_tenant_user_id"),
            models.Index(fields=["tenant", "user_email"], name="run_tenant_user_email"),
            models.Index(fields=["tenant", "idempotency_key"], name="run_tenant_idempotency"),
            # Test and replay runs are few: the dashboard counts every run from the indexes
            # above and subtracts these, found through this one.
            models.Index(
                fields=["tenant", "source", "-created_at"], name="run_tenant_source_created"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(source__in=RunSource.values), name="run_source_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=RunStatus.values), name="run_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(decision__in=[*RunDecision.values, ""]),
                name="run_decision_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.id


class IdempotencyClaim(models.Model):
    """The first request with a key claims it; duplicates read the claimed run.

    A separate row (not a unique column on Run) so a key can be claimed before the
    pipeline runs (concurrent duplicates run once) and reused after its 24 h window.
    The claim remembers the trigger and a digest of the body it was made for, so the
    key cannot answer a different request with the first one's decision.
    """

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    run_id = models.CharField(max_length=40)
    created_at = models.DateTimeField()
    # Empty on claims made before they were recorded: those are not compared.
    trigger = models.CharField(max_length=40, blank=True)
    request_sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "key"], name="idempotency_unique_key"),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created")]

    def __str__(self) -> str:
        return f"{self.key} -> {self.run_id}"
