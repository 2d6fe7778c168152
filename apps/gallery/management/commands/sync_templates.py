from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.gallery.loader import TemplateFileError
from apps.gallery.services import templates_sync


class Command(BaseCommand):
    help = "Load the built-in template gallery from apps/gallery/templates_js (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = templates_sync()
        except TemplateFileError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Gallery templates: {report.summary()}.")
