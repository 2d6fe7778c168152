"""Console pages for pipelines and the function editor.

The pages are server-rendered shells: what they show first (functions, roles,
env names) is rendered here, and the page scripts then talk to the JSON API
with the member's session, so the console and API callers share one code path.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET, require_POST

from apps.console.admin_site import admin_site
from apps.console.overview import pipelines_overview
from apps.console.pages import console_page, json_error, tenant_object_or_404
from apps.core.json_input import UnstorableJSON, loads_storable
from apps.core.triggers import TRIGGERS
from apps.pipelines.models import Function
from apps.pipelines.selectors import function_for_tenant
from apps.pipelines.services import function_test_payload_set
from apps.runtime.flavour import describe_flavour
from apps.secrets.selectors import env_names
from apps.tenants.access import Principal
from apps.tenants.models import Role

MAX_TEST_PAYLOAD_BYTES = 64 * 1024


def _page_context(
    request: HttpRequest, principal: Principal, title: str, **extra: Any
) -> dict[str, Any]:
    return {
        **admin_site.each_context(request),
        "title": title,
        "can_write": principal.can_write_config,
        **extra,
    }


def _optional_url(name: str) -> str:
    # Pages of areas built separately (gallery, runs) are linked only once they exist.
    try:
        return reverse(name)
    except NoReverseMatch:
        return ""


@require_GET
@console_page()
def pipelines_page(request: HttpRequest, principal: Principal) -> HttpResponse:
    # Badges count production runs; ?include_tests=1 counts test and replay runs too.
    include_tests = request.GET.get("include_tests") == "1"
    context = _page_context(
        request,
        principal,
        "Pipelines",
        pipelines=pipelines_overview(tenant=principal.tenant, include_tests=include_tests),
        include_tests=include_tests,
        gallery_url=_optional_url("console-gallery"),
        actor=principal.actor.label,
    )
    return render(request, "console/pipelines.html", context)


def function_data(function: Function) -> dict[str, Any]:
    """What the editor starts from (the API shape of SPEC §6, plus the test payload)."""
    release = function.live_release
    return {
        "id": function.id,
        "trigger": function.pipeline.trigger,
        "name": function.name,
        "description": function.description,
        "position": function.position,
        "enabled": function.enabled,
        "is_async": function.is_async,
        "timeout_ms": function.timeout_ms,
        "terminate_on_timeout": function.terminate_on_timeout,
        "code": function.code,
        "live_version": release.version if release else None,
        "has_unpublished_changes": function.has_unpublished_changes,
        "test_payload": function.test_payload or {},
    }


@require_GET
@console_page()
def function_editor(request: HttpRequest, principal: Principal, function_id: str) -> HttpResponse:
    function = tenant_object_or_404(function_for_tenant, tenant=principal.tenant, id=function_id)
    editor_data = {
        "function": function_data(function),
        "trigger": {
            "name": function.pipeline.trigger,
            "blocking": TRIGGERS[function.pipeline.trigger].blocking,
            "description": TRIGGERS[function.pipeline.trigger].description,
        },
        "env_names": env_names(tenant=principal.tenant),
        "can_write": principal.can_write_config,
        "replay_run_id": request.GET.get("replay", "")[:64],
        "urls": {
            "api": "/api/v1/",
            "vendor": static("vendor/monaco/"),
            "contract": static("js/contract.d.ts"),
            "pipelines": reverse("console-pipelines"),
            "test_payload": reverse("console-function-test-payload", args=[function.id]),
        },
    }
    context = _page_context(
        request,
        principal,
        function.name,
        function=function,
        editor_data=editor_data,
        flavour=describe_flavour(function.code),
    )
    return render(request, "console/editor.html", context)


@require_GET
@console_page(role=Role.DEVELOPER)
def function_new(request: HttpRequest, principal: Principal) -> HttpResponse:
    trigger = request.GET.get("trigger", "PRE_REGISTER")
    if trigger not in TRIGGERS:
        raise Http404("Unknown trigger.")
    context = _page_context(
        request,
        principal,
        "New function",
        triggers=list(TRIGGERS.values()),
        selected_trigger=trigger,
        gallery_url=_optional_url("console-gallery"),
    )
    return render(request, "console/function_new.html", context)


def _parse_test_payload(body: bytes) -> dict[str, Any] | str:
    """The payload, or the name of the field that is wrong."""
    if len(body) > MAX_TEST_PAYLOAD_BYTES:
        return "body"
    try:
        payload = loads_storable(body or b"null")
    except UnstorableJSON:
        return "body"
    if not isinstance(payload, dict):
        return "body"
    for field in ("user", "context"):
        if not isinstance(payload.get(field), dict):
            return field
    return {"user": payload["user"], "context": payload["context"]}


@require_POST
@console_page(role=Role.DEVELOPER, json=True)
def function_test_payload(
    request: HttpRequest, principal: Principal, function_id: str
) -> JsonResponse:
    """Keeps the test panel's last payload per function (not part of what executes)."""
    function = tenant_object_or_404(function_for_tenant, tenant=principal.tenant, id=function_id)
    parsed = _parse_test_payload(request.body)
    if isinstance(parsed, str):
        return json_error(
            400,
            "invalid_request",
            f"'{parsed}' must be a JSON object of at most {MAX_TEST_PAYLOAD_BYTES // 1024} KB.",
            field=parsed,
        )
    function_test_payload_set(tenant=principal.tenant, function=function, payload=parsed)
    return JsonResponse({"test_payload": parsed})
