"""/api/v1/env: list, set and delete env vars; secrets are write-only and tenant-scoped."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils.crypto import get_random_string

from apps.audit.models import AuditEvent, AuditKind
from apps.secrets.models import EnvVar
from apps.secrets.selectors import MASK
from apps.secrets.services import MAX_VALUE_BYTES
from tests.conftest import Persona, assert_error

pytestmark = pytest.mark.django_db
SECRET = "whsec_Zx81-very-secret-value"


def put(client: Any, name: str, body: Any) -> Any:
    return client.put(f"/api/v1/env/{name}", body, format="json")


def csrf_session(persona: Persona) -> Any:
    """A logged-in client that sends a valid CSRF cookie and header, as the console does."""
    client = persona.session()
    token = get_random_string(32)
    client.cookies["csrftoken"] = token
    client.credentials(HTTP_X_CSRFTOKEN=token)
    return client


def session_put(persona: Persona, name: str, body: Any) -> Any:
    return put(csrf_session(persona), name, body)


def test_a_plain_var_is_set_listed_and_shown(alice: Persona) -> None:
    response = put(alice.api(), "REGION", {"value": "eu-west", "secret": False})
    assert response.status_code == 200
    assert response.json()["name"] == "REGION" and response.json()["value"] == "eu-west"
    listing = alice.api().get("/api/v1/env").json()
    assert listing["next"] is None
    [item] = listing["results"]
    assert item["name"] == "REGION" and item["secret"] is False and item["value"] == "eu-west"
    assert item["updated_by"] == f"key:{alice.key[:11]}"
    assert set(item) == {"name", "secret", "value", "created_at", "updated_at", "updated_by"}


def test_a_secret_is_never_returned_after_saving(alice: Persona) -> None:
    client = alice.api()
    responses = [
        put(client, "WEBHOOK_SECRET", {"value": SECRET, "secret": True}),
        client.get("/api/v1/env"),
        client.get("/api/v1/env/WEBHOOK_SECRET"),
        put(client, "WEBHOOK_SECRET", {"value": SECRET + "2"}),
        client.get("/api/v1/schema/"),
        client.get("/api/v1/audit-events"),
    ]
    for response in responses:
        assert SECRET.encode() not in response.content
    assert responses[0].json()["value"] == MASK and responses[0].json()["secret"] is True
    assert responses[3].json()["secret"] is True  # kept secret without repeating the flag
    assert responses[2].json()["value"] == MASK


def test_delete_removes_the_var_and_then_it_is_not_found(alice: Persona) -> None:
    client = alice.api()
    put(client, "GONE_SOON", {"value": "x"})
    assert client.delete("/api/v1/env/GONE_SOON").status_code == 204
    assert_error(client.delete("/api/v1/env/GONE_SOON"), 404, "not_found")
    assert_error(client.get("/api/v1/env/GONE_SOON"), 404, "not_found")


def test_changes_are_audited_without_values(alice: Persona) -> None:
    client = alice.api()
    put(client, "TOKEN", {"value": SECRET, "secret": True})
    client.delete("/api/v1/env/TOKEN")
    events = AuditEvent.objects.filter(tenant=alice.tenant, object_id="TOKEN")
    assert {event.kind for event in events} == {AuditKind.SECRET_SET, AuditKind.ENV_DELETED}
    assert all(SECRET not in str(event.details) for event in events)


def test_charlie_cannot_read_set_or_delete_acmes_env(alice: Persona, charlie: Persona) -> None:
    put(alice.api(), "ACME_TOKEN", {"value": SECRET, "secret": True})
    put(alice.api(), "ACME_PLAIN", {"value": "acme-only-value"})
    client = charlie.api()
    listing = client.get("/api/v1/env")
    assert listing.status_code == 200 and listing.json()["results"] == []
    assert_error(client.get("/api/v1/env/ACME_PLAIN"), 404, "not_found")
    assert_error(client.delete("/api/v1/env/ACME_TOKEN"), 404, "not_found")
    # Setting the same name creates charlie's own var; acme's stays untouched.
    assert put(client, "ACME_PLAIN", {"value": "charlie"}).status_code == 200
    acme_var = EnvVar.objects.get(tenant=alice.tenant, name="ACME_PLAIN")
    assert acme_var.value == "acme-only-value"
    assert EnvVar.objects.filter(tenant=alice.tenant).count() == 2
    assert b"acme-only-value" not in client.get("/api/v1/env").content


def test_charlies_session_sees_only_globex(alice: Persona, charlie: Persona) -> None:
    put(alice.api(), "ACME_PLAIN", {"value": "acme-only-value"})
    response = charlie.session().get("/api/v1/env")
    assert response.status_code == 200 and response.json()["results"] == []


def test_bob_the_viewer_may_read_but_not_write(alice: Persona, bob: Persona) -> None:
    put(alice.api(), "REGION", {"value": "eu-west"})
    listing = bob.session().get("/api/v1/env")
    assert listing.status_code == 200 and listing.json()["results"][0]["name"] == "REGION"
    denied = assert_error(session_put(bob, "REGION", {"value": "x"}), 403, "permission_denied")
    assert "may not change configuration" in denied["message"]
    deleted = csrf_session(bob).delete("/api/v1/env/REGION")
    assert "may not change" in assert_error(deleted, 403, "permission_denied")["message"]
    assert EnvVar.objects.get(name="REGION").value == "eu-west"


def test_dave_the_developer_may_write_with_his_session(dave: Persona) -> None:
    response = session_put(dave, "REGION", {"value": "eu-west"})
    assert response.status_code == 200, response.content
    assert response.json()["updated_by"] == "dave"


def test_a_session_write_without_csrf_is_refused(dave: Persona) -> None:
    response = put(dave.session(), "REGION", {"value": "eu-west"})
    assert "CSRF" in assert_error(response, 403, "permission_denied")["message"]
    assert not EnvVar.objects.exists()


def test_a_key_without_the_manage_scope_may_neither_read_nor_write(alice: Persona) -> None:
    from rest_framework.test import APIClient

    from apps.core.actor import Actor
    from apps.tenants.services import api_key_create

    _, raw = api_key_create(
        tenant=alice.tenant, name="exec", scopes=["execute", "runs:read"], actor=Actor.system()
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert_error(client.get("/api/v1/env"), 403, "permission_denied")
    assert_error(put(client, "REGION", {"value": "x"}), 403, "permission_denied")


def test_unauthenticated_requests_are_refused(alice: Persona) -> None:
    from rest_framework.test import APIClient

    assert_error(APIClient().get("/api/v1/env"), 401, "authentication_failed")


@pytest.mark.parametrize("name", ["lower_case", "1ABC", "WITH-DASH", "A" * 65, "%C3%89"])
def test_an_invalid_name_is_400_naming_the_field(alice: Persona, name: str) -> None:
    error = assert_error(put(alice.api(), name, {"value": "x"}), 400, "invalid_request")
    assert error["details"]["field"] == "name"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "value"),
        ({"value": 5}, "value"),
        ({"value": None}, "value"),
        ({"value": {"a": 1}}, "value"),
        ({"value": "x" * (MAX_VALUE_BYTES + 1)}, "value"),
        ({"value": "abc", "secret": True}, "value"),
        ({"value": "valid", "secret": "true"}, "secret"),
        ({"value": "valid", "secret": 1}, "secret"),
        ({"value": "valid", "extra": 1}, "extra"),
        (["value"], "non_field_errors"),
        ("just a string", "non_field_errors"),
    ],
)
def test_an_invalid_body_is_400_naming_the_field(alice: Persona, body: Any, field: str) -> None:
    error = assert_error(put(alice.api(), "VALID_NAME", body), 400, "invalid_request")
    assert error["details"]["field"] == field
    assert not EnvVar.objects.exists()


def test_a_body_that_is_not_json_is_400(alice: Persona) -> None:
    response = alice.api().put(
        "/api/v1/env/VALID_NAME", "{not json", content_type="application/json"
    )
    assert_error(response, 400, "invalid_request")


def test_other_methods_are_405(alice: Persona) -> None:
    assert_error(alice.api().post("/api/v1/env", {}, format="json"), 405, "method_not_allowed")
