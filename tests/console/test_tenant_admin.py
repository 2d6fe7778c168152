"""The console shows each member only their tenant's objects, according to role."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.tenants.models import ApiKey, Member
from tests.conftest import Persona

pytestmark = pytest.mark.django_db


def login(persona: Persona) -> Client:
    client = Client()
    client.force_login(persona.user)
    return client


def test_the_console_is_branded_and_open_to_members_without_staff_flag(alice: Persona) -> None:
    response = login(alice).get("/admin/")
    assert response.status_code == 200
    assert b"GenAuth Pipeline" in response.content


def test_a_user_without_membership_is_sent_to_login(django_user_model) -> None:  # type: ignore[no-untyped-def]
    stranger = django_user_model.objects.create_user(username="stranger", password="x")
    client = Client()
    client.force_login(stranger)
    assert client.get("/admin/").status_code == 302


def test_charlie_cannot_list_or_open_acmes_keys(alice: Persona, charlie: Persona) -> None:
    client = login(charlie)
    listing = client.get("/admin/tenants/apikey/")
    assert listing.status_code == 200
    assert alice.key[:11].encode() not in listing.content
    assert b"charlie key" in listing.content
    acme_key = ApiKey.objects.get(prefix=alice.key[:11])
    assert client.get(f"/admin/tenants/apikey/{acme_key.pk}/change/").status_code == 302
    response = client.post(
        "/admin/tenants/apikey/",
        {"action": "revoke_selected", "_selected_action": [acme_key.pk]},
    )
    assert response.status_code in (200, 302)
    acme_key.refresh_from_db()
    assert acme_key.revoked_at is None


def test_charlie_cannot_see_or_change_acmes_members_or_tenant(
    alice: Persona, bob: Persona, charlie: Persona
) -> None:
    client = login(charlie)
    members = client.get("/admin/tenants/member/")
    assert b"alice" not in members.content and b"bob" not in members.content
    bob_member = Member.objects.get(user=bob.user)
    assert client.get(f"/admin/tenants/member/{bob_member.pk}/change/").status_code == 302
    client.post(
        f"/admin/tenants/member/{bob_member.pk}/change/",
        {"tenant": alice.tenant.pk, "role": "owner", "username": "bob"},
    )
    bob_member.refresh_from_db()
    assert bob_member.role == "viewer"
    assert client.get(f"/admin/tenants/tenant/{alice.tenant.pk}/change/").status_code == 302
    assert b"Acme" not in client.get("/admin/tenants/tenant/").content


def test_charlie_cannot_create_a_key_for_acme(alice: Persona, charlie: Persona) -> None:
    login(charlie).post(
        "/admin/tenants/apikey/add/",
        {"tenant": alice.tenant.pk, "name": "sneaky", "scopes": ["execute"]},
    )
    # There is no tenant field: a member's key belongs to the tenant being worked on.
    assert not ApiKey.objects.filter(name="sneaky", tenant=alice.tenant).exists()
    assert ApiKey.objects.get(name="sneaky").tenant == charlie.tenant


def test_creating_a_key_in_the_console_shows_it_once(alice: Persona) -> None:
    client = login(alice)
    response = client.post(
        "/admin/tenants/apikey/add/",
        {"name": "idp", "scopes": ["execute", "runs:read"]},
        follow=True,
    )
    assert response.status_code == 200
    api_key = ApiKey.objects.get(name="idp")
    assert api_key.scopes == ["execute", "runs:read"]
    shown = [str(m) for m in response.context["messages"]]
    assert any(api_key.prefix in message and "not be shown again" in message for message in shown)
    again = client.get(f"/admin/tenants/apikey/{api_key.pk}/change/")
    assert api_key.prefix.encode() in again.content
    raw = next(m for m in shown if api_key.prefix in m).split(" is ")[1].split(" ")[0]
    assert raw.encode() not in again.content


def test_a_viewer_cannot_see_keys_or_change_members(bob: Persona) -> None:
    client = login(bob)
    assert client.get("/admin/tenants/apikey/").status_code == 403
    assert client.get("/admin/tenants/member/add/").status_code == 403
    assert client.get("/admin/tenants/member/").status_code == 200


def test_an_owner_adds_a_member_by_username(alice: Persona, django_user_model) -> None:  # type: ignore[no-untyped-def]
    django_user_model.objects.create_user(username="erin", password="x")
    response = login(alice).post(
        "/admin/tenants/member/add/",
        {"username": "erin", "role": "developer"},
    )
    assert response.status_code == 302
    member = Member.objects.get(user__username="erin")
    assert member.tenant == alice.tenant and member.role == "developer"
    from apps.audit.models import AuditEvent

    assert AuditEvent.objects.filter(tenant=alice.tenant, kind="member.added").exists()


def test_security_headers_are_set(alice: Persona) -> None:
    response = login(alice).get("/admin/")
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
