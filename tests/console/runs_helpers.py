"""Run rows for the audit-log review tests, written directly with realistic shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.test import Client
from django.utils import timezone

from apps.pipelines.models import Function
from apps.runs.models import Run
from apps.tenants.models import Tenant
from tests.conftest import Persona


def step(
    function: Function | None,
    *,
    status: str = "ok",
    duration_ms: float = 1.5,
    logs: list[dict[str, Any]] | None = None,
    error: dict[str, Any] | None = None,
    name: str = "",
) -> dict[str, Any]:
    return {
        "function_id": function.id if function else "fn_gone",
        "name": function.name if function else name or "gone",
        "version": 1,
        "status": status,
        "duration_ms": duration_ms,
        "logs": logs or [],
        "error": error,
    }


def make_run(
    tenant: Tenant,
    *,
    email: str = "ann@example.com",
    user_id: str = "u_1",
    trigger: str = "PRE_REGISTER",
    decision: str = "allow",
    status: str = "ok",
    source: str = "api",
    error_code: str = "",
    steps: list[dict[str, Any]] | None = None,
    created_at: datetime | None = None,
    duration_ms: float = 2.0,
    output: dict[str, Any] | None = None,
    **extra: Any,
) -> Run:
    steps = steps or []
    user = {"id": user_id, "email": email}
    return Run.objects.create(
        tenant=tenant,
        trigger=trigger,
        source=source,
        decision=decision,
        status=status,
        error_code=error_code,
        error_message="Denied by a function" if error_code else "",
        input={"user": user, "context": {"ip": "203.0.113.9"}},
        output=output if output is not None else {"user": user, "context": {"ip": "203.0.113.9"}},
        steps=steps,
        duration_ms=duration_ms,
        caller="key:gp_test",
        user_id=user_id,
        user_email=email,
        function_ids=" " + " ".join(s["function_id"] for s in steps) + " " if steps else "",
        created_at=created_at or timezone.now(),
        **extra,
    )


def console(persona: Persona) -> Client:
    client = Client()
    client.force_login(persona.user)
    return client
