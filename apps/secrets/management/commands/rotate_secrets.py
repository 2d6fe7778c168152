"""Re-encrypt every stored secret with the newest key in SECRETS_KEYS."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from apps.core.errors import ServiceError
from apps.secrets.services import secrets_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypts every secret with the first (newest) key of SECRETS_KEYS. Put the new "
        "key first, keep the old ones after it, run this, then remove the old keys."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            count = secrets_rotate()
        except (ServiceError, ImproperlyConfigured) as exc:
            raise CommandError(f"{exc} (nothing was changed)") from None
        self.stdout.write(f"Re-encrypted {count} secret(s) with the newest key.")
