from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.core.actor import Actor
from apps.core.errors import ServiceError
from apps.tenants.models import ALL_SCOPES, Tenant
from apps.tenants.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for a tenant and print it (shown once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--scopes", default=",".join(ALL_SCOPES))
        parser.add_argument("--name", default="API key")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["slug"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug {options['slug']!r}.")
        try:
            api_key, raw_key = api_key_create(
                tenant=tenant,
                name=options["name"],
                scopes=options["scopes"].split(","),
                actor=Actor.system("cli"),
            )
        except ServiceError as exc:
            raise CommandError(exc.message) from None
        self.stderr.write(f"Created key {api_key.prefix}… with scopes {', '.join(api_key.scopes)}:")
        self.stdout.write(raw_key)
