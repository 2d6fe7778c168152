"""Gallery templates: a database copy of the files under ``templates_js/``.

The files in the repository are the source of truth; ``sync_templates`` (also run
after every ``migrate``) loads them here so the API and console can filter and
search them with ordinary queries.
"""

from __future__ import annotations

from django.db import models

from apps.runtime.flavour import describe_flavour


class GalleryTemplate(models.Model):
    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=120)
    description = models.TextField()
    category = models.CharField(max_length=40, db_index=True)
    triggers = models.JSONField(default=list)  # trigger names, first one is the default
    # [{"name": "SLACK_WEBHOOK_URL", "description": "...", "secret": true}, ...]
    env = models.JSONField(default=list, blank=True)
    sample = models.JSONField(default=dict, blank=True)  # {"user", "context", "env"}
    outcomes = models.JSONField(default=list, blank=True)  # expected behaviour, see loader
    is_async = models.BooleanField(default=False)
    uses_http = models.BooleanField(default=False)
    code = models.TextField()
    code_sha256 = models.CharField(max_length=64)
    position = models.PositiveIntegerField(default=0)  # display order within the gallery
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "slug"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(code=""), name="gallery_template_has_code"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def flavour(self) -> dict[str, str]:
        """Authing pipe or Auth0 Action, read from the code (see apps.runtime.flavour)."""
        return describe_flavour(self.code)

    @property
    def env_names(self) -> list[str]:
        return [str(item["name"]) for item in self.env]
