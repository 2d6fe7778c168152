"""The console home and its sidebar: the tenant's pipelines, recent production problems,
and the pages the member's role may open."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.utils import timezone

from apps.pipelines.models import Function, Pipeline
from apps.runs.models import Run
from apps.tenants.models import Tenant
from tests.conftest import Persona


def _function(tenant: Tenant, name: str, trigger: str = "PRE_REGISTER") -> Function:
    pipeline, _ = Pipeline.objects.get_or_create(tenant=tenant, trigger=trigger)
    return Function.objects.create(
        tenant=tenant, pipeline=pipeline, name=name, position=0, code="function pipe(){}"
    )


def _run(tenant: Tenant, source: str, email: str, **fields: Any) -> Run:
    defaults = {"decision": "deny", "status": "denied", "error_code": "access_denied"}
    return Run.objects.create(
        tenant=tenant,
        trigger="PRE_REGISTER",
        source=source,
        caller="test",
        user_email=email,
        created_at=timezone.now(),
        **{**defaults, **fields},
    )


def _home(client: Client, persona: Persona) -> str:
    client.force_login(persona.user)
    response = client.get("/admin/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_home_shows_the_tenants_pipelines_and_production_problems(
    client: Client, alice: Persona
) -> None:
    _function(alice.tenant, "acme-domain-check")
    _run(alice.tenant, "api", "blocked@acme.test")
    _run(alice.tenant, "test", "tested@acme.test")
    _run(alice.tenant, "api", "fine@acme.test", decision="allow", status="ok", error_code="")
    page = _home(client, alice)
    assert "acme-domain-check" in page
    assert "POST_MFA_VERIFY" in page
    assert "blocked@acme.test" in page
    assert "tested@acme.test" not in page  # test runs are not production problems
    assert "fine@acme.test" not in page


def test_the_sidebar_lists_the_console_pages_for_an_owner(client: Client, alice: Persona) -> None:
    page = _home(client, alice)
    for label in ("Pipelines", "Gallery", "Dashboard", "Runs", "Configuration history"):
        assert f">{label}</a>" in page
    assert 'href="/admin/tenants/apikey/"' in page
    assert 'href="/admin/tenants/member/"' in page


def test_a_viewer_sees_no_owner_only_pages(client: Client, bob: Persona) -> None:
    page = _home(client, bob)
    assert ">Pipelines</a>" in page
    assert 'href="/admin/tenants/apikey/"' not in page  # keys are the owner's
    assert 'href="/admin/tenants/member/"' in page  # the member list is readable
    assert "New function" not in page


def test_charlie_sees_nothing_of_acme_on_his_home(
    client: Client, alice: Persona, charlie: Persona
) -> None:
    _function(alice.tenant, "acme-domain-check")
    _run(alice.tenant, "api", "blocked@acme.test")
    page = _home(client, charlie)
    assert "acme-domain-check" not in page
    assert "blocked@acme.test" not in page
    assert "Globex" in page


def test_a_superuser_also_gets_the_admin_models(
    client: Client, alice: Persona, django_user_model: Any
) -> None:
    root = django_user_model.objects.create_superuser(username="root", password="x")
    client.force_login(root)
    page = client.get("/admin/").content.decode()
    assert "Administration" in page and 'href="/admin/tenants/tenant/"' in page
    assert ">Pipelines</a>" in page
