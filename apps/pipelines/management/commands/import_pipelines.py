from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.core.actor import Actor
from apps.core.errors import ServiceError
from apps.pipelines.config import pipelines_import
from apps.tenants.models import Tenant


class Command(BaseCommand):
    help = (
        "Apply a document written by export_pipelines to a tenant, idempotently: creates and "
        "updates functions (matched by trigger and name), publishes changed code, reorders. "
        "Prints the plan. FILE may be - for standard input."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("file")
        parser.add_argument(
            "--dry-run", action="store_true", help="Print the plan and change nothing."
        )
        parser.add_argument(
            "--prune",
            action="store_true",
            help="Also delete functions the document does not name (default: keep them last).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["slug"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug {options['slug']!r}.")
        document = _read(options["file"])
        try:
            plan = pipelines_import(
                tenant=tenant,
                document=document,
                actor=Actor.system("import_pipelines"),
                prune=options["prune"],
                dry_run=options["dry_run"],
            )
        except ServiceError as exc:
            raise CommandError(f"Nothing was imported. {exc.message}") from None
        heading = "Plan (dry run, nothing changed):" if options["dry_run"] else "Applied:"
        if plan.steps:
            self.stdout.write(heading)
        for line in plan.lines():
            self.stdout.write(f"  {line}" if plan.steps else line)


def _read(path: str) -> Any:
    try:
        if path == "-":
            return json.load(sys.stdin)
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CommandError(f"{path} is not valid JSON: {exc}.") from None
