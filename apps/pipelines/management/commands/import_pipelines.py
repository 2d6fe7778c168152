from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.core.actor import Actor
from apps.core.errors import ServiceError
from apps.core.json_input import UnstorableJSON, loads_storable
from apps.pipelines.auth0_folder import Auth0Folder, auth0_folder_document, is_auth0_folder
from apps.pipelines.authing_templates import (
    AuthingTemplates,
    authing_templates_document,
    is_authing_templates,
)
from apps.pipelines.config import pipelines_import
from apps.pipelines.selectors import pipeline_find
from apps.tenants.models import Tenant


class Command(BaseCommand):
    help = (
        "Apply a document written by export_pipelines to a tenant, idempotently: creates and "
        "updates functions (matched by trigger and name), publishes changed code, reorders. "
        "Prints the plan. FILE may be - for standard input, Authing's templates.json (each "
        "template becomes a draft function at each trigger it names), or an Auth0 Deploy CLI "
        "directory (rules/, rules-configs/, actions/, triggers/): its rules and Actions become "
        "functions. From those two, if anything cannot map nothing is imported (unless "
        "--skip-unmappable)."
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
        parser.add_argument(
            "--skip-unmappable",
            action="store_true",
            help="Auth0 folders and Authing templates: import what maps, leave out what cannot.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["slug"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug {options['slug']!r}.")
        notes: list[str] = []
        if is_auth0_folder(Path(options["file"])):
            folder = auth0_folder_document(Path(options["file"]))
            document, notes = self._mapped(tenant, folder, options)
        else:
            document = _read(options["file"])
            if is_authing_templates(document):
                templates = authing_templates_document(document)
                document, notes = self._mapped(tenant, templates, options)
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
        for note in notes:
            self.stdout.write(note)

    def _mapped(
        self, tenant: Tenant, source: Auth0Folder | AuthingTemplates, options: dict[str, Any]
    ) -> tuple[dict[str, Any], list[str]]:
        """The document read from an Auth0 folder or Authing's templates, refused as a whole
        if anything cannot map (unless --skip-unmappable), and the notes to print."""
        if source.unmappable and not options["skip_unmappable"]:
            listed = "\n".join(f"  {line}" for line in source.unmappable)
            raise CommandError(
                f"Nothing was imported. These cannot map:\n{listed}\n"
                "Re-run with --skip-unmappable to import the rest without them."
            )
        # Neither says anything of pipeline settings: keep the tenant's.
        for trigger, body in source.document["pipelines"].items():
            pipeline = pipeline_find(tenant=tenant, trigger=trigger)
            body["settings"] = pipeline.settings if pipeline else {}
        left_out = [f"Left out (cannot map): {line}" for line in source.unmappable]
        return source.document, left_out + source.notes


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
