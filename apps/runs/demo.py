"""Demo content for ``seed_demo``: a few runs for acme through the real execute path."""

from __future__ import annotations

from typing import Any

from apps.core.actor import Actor
from apps.runs.models import Run
from apps.runs.services import run_execute, run_test_pipeline
from apps.tenants.models import Tenant

SAMPLES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "PRE_REGISTER",
        {"email": "ada@example.com", "username": "ada"},
        {"ip": "203.0.113.10", "protocol": "oidc", "app": {"name": "Acme Portal"}},
    ),
    (
        "PRE_REGISTER",
        {"email": "mallory@elsewhere.test", "username": "mallory"},
        {"ip": "198.51.100.66", "protocol": "oidc", "app": {"name": "Acme Portal"}},
    ),
    (
        "PRE_OIDC_ID_TOKEN_ISSUED",
        {"id": "u_ada", "email": "ada@example.com", "plan": "pro"},
        {"ip": "203.0.113.10", "client_id": "acme-portal", "scope": "openid email"},
    ),
    (
        "POST_AUTHENTICATION",
        {"id": "u_ada", "email": "ada@example.com"},
        {"ip": "203.0.113.10", "protocol": "oidc"},
    ),
]


def seed(*, tenant: Tenant, actor: Actor, stdout: Any) -> None:
    if Run.objects.filter(tenant=tenant).exists():
        return
    tenant.refresh_from_db(fields=["config_version"])  # the functions just seeded
    caller = f"system:{actor.label}"
    for trigger, user, context in SAMPLES:
        run_execute(
            tenant=tenant,
            trigger=trigger,
            user=user,
            context=context,
            mode=None,
            idempotency_key=None,
            caller=caller,
            client_ip="127.0.0.1",
        )
    trigger, user, context = SAMPLES[0]
    run_test_pipeline(
        tenant=tenant,
        trigger=trigger,
        user=user,
        context=context,
        caller=caller,
        client_ip="127.0.0.1",
    )
    stdout.write(f"Recorded {Run.objects.filter(tenant=tenant).count()} demo runs for acme.")
