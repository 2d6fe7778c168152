"""Loading the template files into the database and instantiating templates."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction

from apps.core.actor import Actor
from apps.core.errors import ServiceError
from apps.core.triggers import trigger_named
from apps.gallery.loader import TEMPLATES_DIR, load_all
from apps.gallery.models import GalleryTemplate
from apps.gallery.selectors import template_by_slug, template_missing_env
from apps.tenants.models import Tenant

MAX_NAME_LENGTH = 100


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{len(self.created)} created, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged, {len(self.removed)} removed"
        )


def templates_sync(*, directory: Path = TEMPLATES_DIR) -> SyncReport:
    """Make the database match the template files; running it twice changes nothing."""
    specs = load_all(directory)  # validates everything before touching the database
    report = SyncReport()
    with transaction.atomic():
        existing = {t.slug: t for t in GalleryTemplate.objects.select_for_update()}
        for position, spec in enumerate(specs):
            fields = {**spec.as_fields(), "position": position}
            template = existing.pop(spec.slug, None)
            if template is None:
                GalleryTemplate.objects.create(slug=spec.slug, **fields)
                report.created.append(spec.slug)
            elif _differs(template, fields):
                for name, value in fields.items():
                    setattr(template, name, value)
                template.save()
                report.updated.append(spec.slug)
            else:
                report.unchanged.append(spec.slug)
        for slug, stale in existing.items():
            stale.delete()
            report.removed.append(slug)
    return report


def _differs(template: GalleryTemplate, fields: dict[str, Any]) -> bool:
    return any(getattr(template, name) != value for name, value in fields.items())


@dataclass(frozen=True)
class Instantiated:
    function: Any  # apps.pipelines.models.Function
    missing_env: list[str]


def template_instantiate(
    *, tenant: Tenant, slug: str, trigger: str | None, name: str | None, actor: Actor
) -> Instantiated:
    """Create a draft (unpublished) function in the tenant's pipeline from a template."""
    from apps.pipelines.services import function_create

    template = template_by_slug(slug=slug)
    chosen = _chosen_trigger(template, trigger)
    function = function_create(
        tenant=tenant,
        trigger=chosen,
        name=name.strip() if name else _free_name(tenant, chosen, template.slug),
        code=template.code,
        description=template.description[:2000],
        is_async=template.is_async,
        actor=actor,
    )
    return Instantiated(function, template_missing_env(template=template, tenant=tenant))


def _chosen_trigger(template: GalleryTemplate, trigger: str | None) -> str:
    if not trigger:
        if len(template.triggers) == 1:
            return str(template.triggers[0])
        raise ServiceError(
            "Choose one of the template's triggers.",
            details={"field": "trigger", "valid": template.triggers},
        )
    trigger = trigger_named(trigger).name  # unknown: a 404 unknown_trigger, as everywhere
    if trigger not in template.triggers:
        raise ServiceError(
            f"The template {template.slug!r} does not support {trigger}.",
            details={"field": "trigger", "valid": template.triggers},
        )
    return trigger


def _free_name(tenant: Tenant, trigger: str, base: str) -> str:
    """The template's slug, or slug-2, slug-3 ... if the pipeline already has it."""
    from apps.pipelines.models import Function

    taken = set(
        Function.objects.filter(
            tenant=tenant, pipeline__trigger=trigger, name__startswith=base
        ).values_list("name", flat=True)
    )
    candidate, counter = base, 1
    while candidate in taken:
        counter += 1
        candidate = f"{base}-{counter}"
    return candidate[:MAX_NAME_LENGTH]
