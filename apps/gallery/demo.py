"""Demo content for ``seed_demo``: three gallery templates in use (published) for acme."""

from __future__ import annotations

from typing import Any

from apps.core.actor import Actor
from apps.core.errors import ServiceError
from apps.gallery.services import template_instantiate, templates_sync
from apps.pipelines.models import Function
from apps.tenants.models import Tenant

# (template slug, trigger): none of them needs an env var to work.
DEMO_TEMPLATES = [
    ("disposable-email-block", "PRE_REGISTER"),
    ("roles-permissions-access-token", "PRE_OIDC_ACCESS_TOKEN_ISSUED"),
    ("last-login-location", "POST_AUTHENTICATION"),
]


def seed(*, tenant: Tenant, actor: Actor, stdout: Any) -> None:
    from apps.pipelines.services import function_publish

    templates_sync()  # the gallery may predate a code update
    for slug, trigger in DEMO_TEMPLATES:
        if Function.objects.filter(tenant=tenant, pipeline__trigger=trigger, name=slug).exists():
            continue
        created = template_instantiate(
            tenant=tenant, slug=slug, trigger=trigger, name=slug, actor=actor
        )
        try:
            function_publish(function=created.function, actor=actor, comment="From the gallery")
        except ServiceError as exc:  # e.g. the sandbox is unavailable to validate the code
            stdout.write(f"  {slug}: left as a draft ({exc.message})")
            continue
        stdout.write(f"  {slug}: published on {trigger} from the gallery")
