"""``prune_runs [--days N] [--batch-size N]``: delete runs past retention (SPEC §8)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from apps.runs.retention import DEFAULT_BATCH_SIZE, runs_prune, runs_prune_cutoff


class Command(BaseCommand):
    help = "Delete runs older than --days (default RUN_RETENTION_DAYS) in small batches."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=settings.RUN_RETENTION_DAYS)
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)

    def handle(self, *args: Any, **options: Any) -> None:
        days, batch_size = options["days"], options["batch_size"]
        if days < 1:
            raise CommandError("--days must be at least 1.")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        now = timezone.now()
        cutoff = runs_prune_cutoff(older_than_days=days, now=now)
        deleted = runs_prune(older_than_days=days, batch_size=batch_size, now=now)
        self.stdout.write(f"Deleted {deleted} run(s) created before {cutoff.isoformat()}.")
