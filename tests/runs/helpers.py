"""Shared helpers for execution and run-log tests: functions, payloads, sessions."""

from __future__ import annotations

import hashlib
from typing import Any

from django.utils.crypto import get_random_string

from apps.pipelines.models import Function, Pipeline, Release
from apps.tenants.models import Tenant
from apps.tenants.services import tenant_config_bump
from tests.conftest import Persona

# SPEC §6: the keys of a synchronous execute response (and of run_function's result).
RESPONSE_KEYS = {
    "run_id",
    "trigger",
    "decision",
    "error",
    "user",
    "context",
    "custom_data",
    "id_token_claims",
    "access_token_claims",
    "steps",
    "duration_ms",
}
ALLOW = """
async function pipe(user, context, callback) {
  user.addCustomData("plan", "free");
  context.seen = (context.seen || []).concat(["%(name)s"]);
  console.log("hello from %(name)s");
  callback(null, user, context);
}
"""
DENY = """
async function pipe(user, context, callback) {
  const err = new Error("Only example.com addresses may register");
  err.code = "domain_not_allowed";
  return callback(err);
}
"""
THROWS = """
async function pipe(user, context, callback) {
  throw new Error("the real reason");
}
"""
SPINS = """
async function pipe(user, context, callback) {
  context.touched = true;
  while (true) {}
}
"""
MARKS = """
async function pipe(user, context, callback) {
  context.version = "%(mark)s";
  callback(null, user, context);
}
"""


def allow(name: str) -> str:
    return ALLOW % {"name": name}


def add_function(
    tenant: Tenant,
    name: str,
    code: str,
    *,
    trigger: str = "PRE_REGISTER",
    publish: bool = True,
    enabled: bool = True,
    is_async: bool = False,
    timeout_ms: int = 3000,
    terminate_on_timeout: bool = False,
) -> Function:
    """A function at the end of the pipeline, released as v1 when ``publish``.

    Rows are written directly (with the config_version bump a publish makes) so these
    tests exercise execution, not the pipelines area's validation.
    """
    pipeline, _ = Pipeline.objects.get_or_create(tenant=tenant, trigger=trigger)
    function = Function.objects.create(
        tenant=tenant,
        pipeline=pipeline,
        name=name,
        code=code,
        position=pipeline.functions.count(),
        enabled=enabled,
        is_async=is_async,
        timeout_ms=timeout_ms,
        terminate_on_timeout=terminate_on_timeout,
    )
    if publish:
        release_code(function, code)
    tenant_config_bump(tenant=tenant)
    return function


def release_code(function: Function, code: str) -> Release:
    version = function.releases.count() + 1
    release = Release.objects.create(
        function=function,
        version=version,
        code=code,
        code_sha256=hashlib.sha256(code.encode()).hexdigest(),
        author_label="test",
    )
    function.live_release = release
    function.save(update_fields=["live_release"])
    tenant_config_bump(tenant=function.tenant)
    return release


def payload(**extra: Any) -> dict[str, Any]:
    return {
        "user": {"id": "u_1", "email": "ann@example.com"},
        "context": {"ip": "203.0.113.9"},
        **extra,
    }


def execute(
    persona: Persona, trigger: str = "PRE_REGISTER", body: Any = None, **kwargs: Any
) -> Any:
    return persona.api().post(
        f"/api/v1/pipelines/{trigger}/execute",
        payload() if body is None else body,
        format="json",
        **kwargs,
    )


def csrf_session(persona: Persona) -> Any:
    """A logged-in client sending a valid CSRF cookie and header, as the console does."""
    client = persona.session()
    token = get_random_string(32)
    client.cookies["csrftoken"] = token
    client.credentials(HTTP_X_CSRFTOKEN=token)
    return client
