from __future__ import annotations

import logging
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from apps.core.actor import Actor
from apps.tenants.models import Role, Tenant
from apps.tenants.services import member_set, tenant_create

DEMO_SLUG = "acme"
DEMO_USER = "demo"


class Command(BaseCommand):
    help = "Create the demo tenant 'acme' with a console login (printed once). Idempotent."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--port", type=int, default=8000, help="The port the console will be served on."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # The embedded filesystem broker has no host; kombu warns about it on every connect.
        logging.getLogger("kombu.connection").setLevel(logging.ERROR)
        actor = Actor.system("seed_demo")
        with transaction.atomic():
            tenant = Tenant.objects.filter(slug=DEMO_SLUG).first()
            if tenant is None:
                tenant = tenant_create(slug=DEMO_SLUG, name="Acme Inc.", actor=actor)
            users = get_user_model().objects
            if users.filter(username=DEMO_USER).exists():
                self.stdout.write(f"Demo tenant {DEMO_SLUG} is already seeded.")
                return
            password = secrets.token_urlsafe(12)
            users.create_user(username=DEMO_USER, email="demo@acme.test", password=password)
            member_set(tenant=tenant, username=DEMO_USER, role=Role.OWNER, actor=actor)
        for hook in seed_hooks():
            hook(tenant=tenant, actor=actor, stdout=self.stdout)
        self.stdout.write(
            f"Demo tenant 'acme' is ready. Console: http://127.0.0.1:{options['port']}/admin/\n"
            f"  username: {DEMO_USER}\n  password: {password}   (shown once)"
        )


def seed_hooks() -> list[Any]:
    """Other areas add demo content (functions, runs) through ``apps.<area>.demo.seed``."""
    import importlib

    hooks = []
    for area in ("pipelines", "gallery", "runs"):
        try:
            module = importlib.import_module(f"apps.{area}.demo")
        except ModuleNotFoundError:
            continue
        hooks.append(module.seed)
    return hooks
