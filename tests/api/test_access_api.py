"""API keys and members through the API: owners in a console session only, the tenant
implied, least-privilege keys, invitations by username or email."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent, AuditKind
from apps.core.actor import Actor
from apps.tenants.models import ApiKey, Member
from apps.tenants.services import api_key_create, member_invite
from tests.conftest import Persona, assert_error
from tests.runs.helpers import csrf_session

pytestmark = pytest.mark.django_db

KEYS = "/api/v1/api-keys"
MEMBERS = "/api/v1/members"


def revoke(client: Any, prefix: str) -> Any:
    return client.post(f"{KEYS}/{prefix}/revoke", format="json")


@pytest.fixture
def erin(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user(
        username="erin", email="Erin@Example.com", password="x"
    )


# --- API keys ---------------------------------------------------------------------------


def test_an_owner_creates_an_execute_only_key_for_her_tenant(alice: Persona) -> None:
    response = csrf_session(alice).post(KEYS, {"name": "idp"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["scopes"] == ["execute"] and body["active"] is True
    assert body["key"].startswith(body["prefix"])
    api_key = ApiKey.objects.get(prefix=body["prefix"])
    assert api_key.tenant == alice.tenant
    listed = csrf_session(alice).get(KEYS).json()["results"]
    assert body["prefix"] in {key["prefix"] for key in listed}
    assert all("key" not in key for key in listed)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['key']}")
    assert_error(client.get("/api/v1/pipelines"), 403, "permission_denied")


def test_scopes_can_be_asked_for_and_are_checked(alice: Persona) -> None:
    session = csrf_session(alice)
    body = session.post(KEYS, {"scopes": ["runs:read", "execute"]}, format="json").json()
    assert body["scopes"] == ["execute", "runs:read"]
    for scopes in (["admin"], [], "execute"):
        error = assert_error(
            session.post(KEYS, {"scopes": scopes}, format="json"), 400, "invalid_request"
        )
        assert "scopes" in error["details"]["fields"]
    error = assert_error(
        session.post(KEYS, {"tenant": "globex"}, format="json"), 400, "invalid_request"
    )
    assert "tenant" in error["details"]["fields"]


def test_an_owner_revokes_a_key_and_it_stops_working(alice: Persona) -> None:
    api_key, raw = api_key_create(tenant=alice.tenant, name="old", actor=Actor.system())
    response = revoke(csrf_session(alice), api_key.prefix)
    assert response.status_code == 200 and response.json()["active"] is False
    assert revoke(csrf_session(alice), api_key.prefix).status_code == 200  # idempotent
    assert (
        AuditEvent.objects.filter(kind=AuditKind.KEY_REVOKED, object_id=api_key.prefix).count() == 1
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert_error(
        client.post("/api/v1/pipelines/PRE_REGISTER/execute", {}), 401, "authentication_failed"
    )


def test_charlie_cannot_see_or_revoke_acmes_keys(alice: Persona, charlie: Persona) -> None:
    api_key, _ = api_key_create(tenant=alice.tenant, name="acme", actor=Actor.system())
    session = csrf_session(charlie)
    assert api_key.prefix not in {k["prefix"] for k in session.get(KEYS).json()["results"]}
    assert_error(revoke(session, api_key.prefix), 404, "not_found")
    api_key.refresh_from_db()
    assert api_key.revoked_at is None


def test_developers_viewers_and_keys_do_not_manage_keys(
    alice: Persona, bob: Persona, dave: Persona
) -> None:
    api_key, _ = api_key_create(tenant=alice.tenant, name="acme", actor=Actor.system())
    for client in (csrf_session(bob), csrf_session(dave), alice.api()):
        assert_error(client.get(KEYS), 403, "permission_denied")
        assert_error(client.post(KEYS, {}, format="json"), 403, "permission_denied")
        assert_error(revoke(client, api_key.prefix), 403, "permission_denied")
    assert_error(APIClient().get(KEYS), 401, "authentication_failed")
    assert_error(revoke(alice.session(), api_key.prefix), 403, "permission_denied")  # no CSRF
    api_key.refresh_from_db()
    assert api_key.revoked_at is None


# --- Members ----------------------------------------------------------------------------


def test_an_owner_invites_by_username_or_email(alice: Persona, erin: Any) -> None:
    session = csrf_session(alice)
    response = session.post(
        MEMBERS, {"identifier": "erin@example.com", "role": "developer"}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["username"], body["role"]) == ("erin", "developer")
    assert Member.objects.get(user=erin).tenant == alice.tenant
    event = AuditEvent.objects.get(kind=AuditKind.MEMBER_ADDED, object_id=str(body["id"]))
    assert event.actor == "alice" and event.details["invited_by"] == "email"
    assert "erin" in {m["username"] for m in session.get(MEMBERS).json()["results"]}


def test_the_role_defaults_to_viewer(alice: Persona, erin: Any) -> None:
    body = csrf_session(alice).post(MEMBERS, {"identifier": "erin"}, format="json").json()
    assert body["role"] == "viewer"


def test_unknown_users_and_duplicates_are_refused_clearly(
    alice: Persona, bob: Persona, erin: Any
) -> None:
    session = csrf_session(alice)
    error = assert_error(
        session.post(MEMBERS, {"identifier": "nobody@example.com"}, format="json"),
        400,
        "invalid_request",
    )
    assert error["details"]["field"] == "identifier" and "nobody@example.com" in error["message"]
    error = assert_error(
        session.post(MEMBERS, {"identifier": "bob"}, format="json"), 409, "conflict"
    )
    assert "already a member (viewer)" in error["message"]
    assert Member.objects.get(user=bob.user).role == "viewer"
    error = assert_error(
        session.post(MEMBERS, {"identifier": "erin", "role": "god"}, format="json"),
        400,
        "invalid_request",
    )
    assert "role" in error["details"]["fields"]
    assert not Member.objects.filter(user=erin).exists()


def test_only_owners_invite(alice: Persona, bob: Persona, dave: Persona, erin: Any) -> None:
    for client in (csrf_session(bob), csrf_session(dave), alice.api()):
        response = client.post(MEMBERS, {"identifier": "erin", "role": "owner"}, format="json")
        assert_error(response, 403, "permission_denied")
    assert not Member.objects.filter(user=erin).exists()


def test_charlie_invites_into_his_own_tenant_only(
    alice: Persona, charlie: Persona, erin: Any
) -> None:
    body = csrf_session(charlie).post(MEMBERS, {"identifier": "erin"}, format="json").json()
    assert Member.objects.get(pk=body["id"]).tenant == charlie.tenant
    members = csrf_session(charlie).get(MEMBERS).json()["results"]
    assert "alice" not in {m["username"] for m in members}


def test_an_email_shared_by_two_users_asks_for_the_username(
    acme: Any, django_user_model: Any
) -> None:
    from apps.core.errors import ServiceError

    for name in ("twin1", "twin2"):
        django_user_model.objects.create_user(username=name, email="twins@example.com")
    with pytest.raises(ServiceError, match="by username"):
        member_invite(
            tenant=acme, identifier="twins@example.com", role="viewer", actor=Actor.system()
        )
    member = member_invite(tenant=acme, identifier="twin2", role="viewer", actor=Actor.system())
    assert member.user.username == "twin2"
