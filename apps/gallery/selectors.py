"""Reading the gallery. Templates are global (not tenant-owned); what a tenant has
set (env names) is looked up through the tenant."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from apps.core.errors import NotFound
from apps.gallery.models import GalleryTemplate
from apps.tenants.models import Tenant


def template_list(
    *, trigger: str | None = None, category: str | None = None, q: str | None = None
) -> QuerySet[GalleryTemplate]:
    templates = GalleryTemplate.objects.all()
    if category:
        templates = templates.filter(category=category)
    for word in (q or "").split():  # every word must appear somewhere
        templates = templates.filter(
            Q(title__icontains=word) | Q(description__icontains=word) | Q(slug__icontains=word)
        )
    if trigger:
        # JSON "contains" is not portable to SQLite, and the gallery is small.
        slugs = [t.slug for t in templates.only("slug", "triggers") if trigger in t.triggers]
        templates = templates.filter(slug__in=slugs)
    return templates


def template_by_slug(*, slug: str) -> GalleryTemplate:
    template = GalleryTemplate.objects.filter(slug=slug).first()
    if template is None:
        raise NotFound(f"No template named {slug!r}.", details={"slug": slug})
    return template


def tenant_env_names(*, tenant: Tenant) -> set[str]:
    """Names of the env vars and secrets the tenant has set (values never read)."""
    from apps.secrets.selectors import env_names

    return set(env_names(tenant=tenant))


def template_missing_env(*, template: GalleryTemplate, tenant: Tenant) -> list[str]:
    """Required env names of the template that the tenant has not set yet."""
    present = tenant_env_names(tenant=tenant)
    return [
        item["name"]
        for item in template.env
        if item.get("required", True) and item["name"] not in present
    ]
