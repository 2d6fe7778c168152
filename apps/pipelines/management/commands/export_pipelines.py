from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.pipelines.config import dumps, pipelines_export
from apps.tenants.models import Tenant


class Command(BaseCommand):
    help = (
        "Print a tenant's pipelines as deterministic JSON: functions in order with their "
        "live code and settings, pipeline settings, env var names (never values)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["slug"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug {options['slug']!r}.")
        self.stdout.write(dumps(pipelines_export(tenant=tenant)), ending="")
