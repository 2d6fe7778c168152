from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.core.actor import Actor
from apps.core.errors import ServiceError
from apps.tenants.models import ALL_SCOPES
from apps.tenants.services import api_key_create, tenant_create


class Command(BaseCommand):
    help = "Create a tenant and print one API key with all scopes (shown once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = Actor.system("cli")
        try:
            tenant = tenant_create(slug=options["slug"], name=options["name"], actor=actor)
            _, raw_key = api_key_create(
                tenant=tenant, name="initial key", scopes=ALL_SCOPES, actor=actor
            )
        except ServiceError as exc:
            raise CommandError(exc.message) from None
        self.stderr.write(f"Created tenant {tenant.slug}. Its API key (shown once):")
        self.stdout.write(raw_key)
