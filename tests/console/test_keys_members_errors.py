"""API key pages (tenant implied, least privilege, revoke from the key's page), inviting
members by username or email, and the console's styled 403 and 404 pages."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from apps.audit.models import AuditEvent
from apps.tenants.models import ApiKey, Member
from tests.conftest import Persona
from tests.console.test_tenant_admin import login

pytestmark = pytest.mark.django_db


def _key(persona: Persona) -> ApiKey:
    return ApiKey.objects.get(prefix=persona.key[:11])


def test_the_add_key_form_has_no_tenant_field_and_only_execute_checked(alice: Persona) -> None:
    page = login(alice).get("/admin/tenants/apikey/add/").content.decode()
    assert 'id="id_tenant"' not in page
    checked = re.findall(r'<input type="checkbox" name="scopes" value="([^"]+)"[^>]*checked', page)
    assert checked == ["execute"]
    assert "_continue" not in page and "_addanother" not in page


def test_a_keys_page_has_revoke_and_no_save_buttons(alice: Persona) -> None:
    page = login(alice).get(f"/admin/tenants/apikey/{_key(alice).pk}/change/").content.decode()
    assert 'id="revoke-key"' in page
    assert 'name="_save"' not in page and 'name="_continue"' not in page


def test_an_owner_revokes_a_key_after_confirming(alice: Persona) -> None:
    client = login(alice)
    api_key = _key(alice)
    url = f"/admin/tenants/apikey/{api_key.pk}/revoke/"
    confirm = client.get(url)
    assert confirm.status_code == 200 and b"Yes, revoke" in confirm.content
    api_key.refresh_from_db()
    assert api_key.revoked_at is None  # a GET only asks
    assert client.post(url).status_code == 302
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    assert AuditEvent.objects.filter(kind="api_key.revoked", object_id=api_key.prefix).exists()


def test_revoking_needs_the_csrf_token(alice: Persona) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice.user)
    api_key = _key(alice)
    assert client.post(f"/admin/tenants/apikey/{api_key.pk}/revoke/").status_code == 403
    api_key.refresh_from_db()
    assert api_key.revoked_at is None


def test_charlie_and_bob_cannot_revoke_acmes_key(
    alice: Persona, bob: Persona, charlie: Persona
) -> None:
    api_key = _key(alice)
    url = f"/admin/tenants/apikey/{api_key.pk}/revoke/"
    assert login(charlie).post(url).status_code in (302, 404)
    assert login(bob).post(url).status_code == 403
    api_key.refresh_from_db()
    assert api_key.revoked_at is None


def test_an_owner_invites_a_member_by_email(alice: Persona, django_user_model: Any) -> None:
    django_user_model.objects.create_user(username="erin", email="Erin@Acme.test", password="x")
    response = login(alice).post(
        "/admin/tenants/member/add/", {"username": "erin@acme.test", "role": "developer"}
    )
    assert response.status_code == 302
    member = Member.objects.get(user__username="erin")
    assert (member.tenant, member.role) == (alice.tenant, "developer")
    event = AuditEvent.objects.filter(tenant=alice.tenant, kind="member.added").first()
    assert event is not None
    assert event.details["username"] == "erin" and event.actor == "alice"


def test_inviting_an_unknown_person_or_a_member_again_is_refused_on_the_form(
    alice: Persona, bob: Persona
) -> None:
    client = login(alice)
    unknown = client.post("/admin/tenants/member/add/", {"username": "nobody", "role": "viewer"})
    assert unknown.status_code == 200 and b"need an account first" in unknown.content
    again = client.post("/admin/tenants/member/add/", {"username": "bob", "role": "owner"})
    assert again.status_code == 200 and b"already a member" in again.content
    assert Member.objects.get(user=bob.user).role == "viewer"


def test_charlie_cannot_invite_into_acme(
    alice: Persona, charlie: Persona, django_user_model: Any
) -> None:
    django_user_model.objects.create_user(username="mallory", password="x")
    login(charlie).post(
        "/admin/tenants/member/add/",
        {"tenant": alice.tenant.pk, "username": "mallory", "role": "owner"},
    )
    assert not Member.objects.filter(tenant=alice.tenant, user__username="mallory").exists()


def test_a_viewer_gets_a_styled_403_page(bob: Persona) -> None:
    response = login(bob).get("/admin/tenants/apikey/")
    assert response.status_code == 403
    page = response.content.decode()
    assert "GenAuth Pipeline" in page and 'id="nav-sidebar"' in page
    assert "does not allow it" in page


def test_an_unknown_console_page_is_a_styled_404(alice: Persona, settings: Any) -> None:
    settings.DEBUG = False
    response = login(alice).get("/admin/functions/fn_nope/")
    assert response.status_code == 404
    assert b"Page not found" in response.content and b"nav-sidebar" in response.content


def test_the_api_still_answers_json_errors(alice: Persona) -> None:
    response = login(alice).get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")


def test_member_lists_have_no_tenant_column(alice: Persona) -> None:
    client = login(alice)
    for url in ("/admin/tenants/apikey/", "/admin/tenants/member/"):
        assert "column-tenant" not in client.get(url).content.decode()


def test_history_on_a_key_member_or_tenant_opens_their_configuration_history(
    alice: Persona, charlie: Persona
) -> None:
    client = login(alice)
    key = ApiKey.objects.filter(tenant=alice.tenant).first()
    assert key is not None
    member = Member.objects.get(user=alice.user)
    history = "/admin/audit/auditevent/"
    for url, query in (
        (f"/admin/tenants/apikey/{key.pk}/history/", f"object_type=api_key&object_id={key.prefix}"),
        (
            f"/admin/tenants/member/{member.pk}/history/",
            f"object_type=member&object_id={member.pk}",
        ),
        (
            f"/admin/tenants/tenant/{alice.tenant.pk}/history/",
            f"object_type=tenant&object_id={alice.tenant.pk}",
        ),
    ):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"] == f"{history}?{query}"
        listed = client.get(response["Location"]).context["cl"].result_list
        assert listed and all(e.object_id == query.split("object_id=")[1] for e in listed)
    assert login(charlie).get(f"/admin/tenants/apikey/{key.pk}/history/").status_code == 404
