from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.core.actor import Actor
from apps.core.errors import ServiceError
from apps.core.json_input import UnstorableJSON, loads_storable
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
            return loads_storable(sys.stdin.buffer.read())
        with open(path, "rb") as handle:
            return loads_storable(handle.read())
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None
    except UnstorableJSON as exc:
        raise CommandError(f"{path} cannot be imported: {exc}.") from None
