"""Pipelines (one per tenant and trigger), functions (a draft plus a live release)
and releases (immutable published snapshots that executions run).

Functions are versioned with django-reversion: every draft save keeps author and
comment. Write them through ``apps.pipelines.services`` only (never
``QuerySet.update()``, which would bypass the history).
"""

from __future__ import annotations

import reversion
from django.conf import settings
from django.db import models

from apps.core.ids import new_id
from apps.core.triggers import TRIGGER_CHOICES

MIN_TIMEOUT_MS = 100
MAX_TIMEOUT_MS = 60_000
DEFAULT_TIMEOUT_MS = 3_000
MAX_CODE_BYTES = 100 * 1024
MAX_FUNCTIONS_PER_PIPELINE = 20
# A function's settings: what its owner sets besides the code (through the API, the console or
# a configuration document), in the order they are shown and exported. The other lists of a
# function's fields (what is versioned, what takes effect at once, what a document holds, what
# the API returns) are derived from this one.
FUNCTION_SETTINGS = (
    "name",
    "description",
    "enabled",
    "is_async",
    "timeout_ms",
    "terminate_on_timeout",
)
# The settings that change what executes at once, without a release: all but the description.
LIVE_SETTINGS = tuple(field for field in FUNCTION_SETTINGS if field != "description")


class Pipeline(models.Model):
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="pipelines")
    trigger = models.CharField(max_length=40, choices=TRIGGER_CHOICES)
    settings = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tenant", "trigger"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "trigger"], name="pipeline_unique_trigger"),
        ]

    def __str__(self) -> str:
        return f"{self.tenant.slug}/{self.trigger}"


def _function_id() -> str:
    return new_id("fn")


@reversion.register(fields=[*FUNCTION_SETTINGS, "position", "code"])
class Function(models.Model):
    id = models.CharField(primary_key=True, max_length=40, default=_function_id, editable=False)
    # Denormalised from the pipeline so every lookup can be scoped by tenant directly.
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="functions")
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="functions")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, max_length=2000)
    position = models.PositiveIntegerField()
    enabled = models.BooleanField(default=True)
    is_async = models.BooleanField(default=False)
    timeout_ms = models.PositiveIntegerField(default=DEFAULT_TIMEOUT_MS)
    terminate_on_timeout = models.BooleanField(default=False)
    code = models.TextField()  # the draft
    live_release = models.ForeignKey(
        "Release", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The test panel's last payload for this function ({"user": ..., "context": ...}).
    test_payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pipeline", "position"]
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "name"], name="function_unique_name"),
            models.UniqueConstraint(
                fields=["pipeline", "position"], name="function_unique_position"
            ),
            models.CheckConstraint(
                condition=models.Q(timeout_ms__gte=MIN_TIMEOUT_MS, timeout_ms__lte=MAX_TIMEOUT_MS),
                name="function_timeout_in_bounds",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "pipeline", "position"], name="function_order")]

    def __str__(self) -> str:
        return self.name

    @property
    def has_unpublished_changes(self) -> bool:
        release = self.live_release
        return release is None or release.code != self.code


class Release(models.Model):
    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="releases")
    version = models.PositiveIntegerField()
    code = models.TextField()
    code_sha256 = models.CharField(max_length=64)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    author_label = models.CharField(max_length=150)  # username or key prefix, kept if the user goes
    comment = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["function", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["function", "version"], name="release_unique_version"),
            models.CheckConstraint(
                condition=models.Q(version__gte=1), name="release_version_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.function.name} v{self.version}"


class RevisionAuthor(models.Model):
    """Who saved a draft revision, also when it was an API key (reversion keeps only users)."""

    revision = models.OneToOneField(
        "reversion.Revision", on_delete=models.CASCADE, related_name="author"
    )
    label = models.CharField(max_length=150)

    def __str__(self) -> str:
        return self.label
