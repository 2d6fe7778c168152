"""API keys in the console: the tenant is the member's, scopes default to execute only,
and a key is revoked from its own page with a POST."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.audit.models import AuditEvent, AuditKind
from apps.core.actor import Actor
from apps.tenants.models import ApiKey
from apps.tenants.services import api_key_create
from tests.conftest import Persona

pytestmark = pytest.mark.django_db

ADD = "/admin/tenants/apikey/add/"


def login(persona: Persona) -> Client:
    client = Client()
    client.force_login(persona.user)
    return client


def revoke_url(api_key: ApiKey) -> str:
    return f"/admin/tenants/apikey/{api_key.pk}/revoke/"


@pytest.fixture
def acme_key(alice: Persona) -> ApiKey:
    api_key, _ = api_key_create(tenant=alice.tenant, name="idp", actor=Actor.system())
    return api_key


def test_the_add_form_has_no_tenant_choice_and_checks_only_execute(alice: Persona) -> None:
    form = login(alice).get(ADD).context["adminform"].form
    assert "tenant" not in form.fields
    assert form.fields["scopes"].initial == ["execute"]


def test_a_superuser_still_chooses_the_tenant(acme: object, django_user_model: type) -> None:
    root = django_user_model.objects.create_superuser(  # type: ignore[attr-defined]
        username="root", password="x", email="root@example.test"
    )
    client = Client()
    client.force_login(root)
    assert "tenant" in client.get(ADD).context["adminform"].form.fields


def test_a_key_is_created_for_the_members_tenant(alice: Persona) -> None:
    response = login(alice).post(ADD, {"name": "idp", "scopes": ["execute"]})
    assert response.status_code == 302
    assert ApiKey.objects.get(name="idp").tenant == alice.tenant


def test_an_owner_revokes_a_key_from_its_page(alice: Persona, acme_key: ApiKey) -> None:
    client = login(alice)
    response = client.post(revoke_url(acme_key), follow=True)
    assert response.redirect_chain[-1][0] == f"/admin/tenants/apikey/{acme_key.pk}/change/"
    acme_key.refresh_from_db()
    assert acme_key.revoked_at is not None
    assert AuditEvent.objects.filter(kind=AuditKind.KEY_REVOKED, object_id=acme_key.prefix)
    assert any("Revoked" in str(m) for m in response.context["messages"])


def test_revoke_asks_first_and_needs_a_post(alice: Persona, acme_key: ApiKey) -> None:
    # A GET asks for confirmation; only the POST it leads to revokes.
    page = login(alice).get(revoke_url(acme_key))
    assert page.status_code == 200 and b"Revoke" in page.content
    acme_key.refresh_from_db()
    assert acme_key.revoked_at is None


def test_charlie_and_bob_cannot_revoke_acmes_key(
    acme_key: ApiKey, bob: Persona, charlie: Persona
) -> None:
    assert login(charlie).post(revoke_url(acme_key)).status_code == 404
    assert login(bob).post(revoke_url(acme_key)).status_code == 403
    acme_key.refresh_from_db()
    assert acme_key.revoked_at is None


def test_the_revoke_post_needs_csrf(alice: Persona, acme_key: ApiKey) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice.user)
    assert client.post(revoke_url(acme_key)).status_code == 403
    acme_key.refresh_from_db()
    assert acme_key.revoked_at is None
