from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.core.actor import Actor
from apps.tenants.models import ApiKey
from apps.tenants.services import PREFIX_LENGTH, api_key_revoke


class Command(BaseCommand):
    help = "Revoke an API key by its prefix (the first 11 characters, e.g. gp_AbCdEfGh)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        prefix = options["prefix"][:PREFIX_LENGTH]
        api_key = ApiKey.objects.filter(prefix=prefix).select_related("tenant").first()
        if api_key is None:
            raise CommandError(f"No API key with prefix {prefix!r}.")
        api_key_revoke(api_key=api_key, actor=Actor.system("cli"))
        self.stdout.write(f"Revoked {api_key.prefix}… ({api_key.name}) of {api_key.tenant.slug}.")
