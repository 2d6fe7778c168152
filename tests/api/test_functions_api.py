"""/api/v1/functions: create, read, edit, publish, versions, rollback, delete."""

from __future__ import annotations

from typing import Any

import pytest
from django.middleware.csrf import _get_new_csrf_string
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent
from apps.core.actor import Actor
from apps.pipelines.models import Function, Release
from apps.tenants.services import api_key_create
from tests.conftest import Persona, assert_error
from tests.pipelines.conftest import ALLOW, DENY, make_function, system, tagging

pytestmark = pytest.mark.django_db
__all__ = ["make_function", "system"]  # fixtures used here

FUNCTION_KEYS = {
    "id",
    "trigger",
    "name",
    "description",
    "position",
    "enabled",
    "is_async",
    "timeout_ms",
    "terminate_on_timeout",
    "code",
    "live_version",
    "has_unpublished_changes",
    "created_at",
    "updated_at",
}
RELEASE_KEYS = {"version", "code", "code_sha256", "author", "comment", "created_at", "live"}


def create(client: APIClient, **body: Any) -> Any:
    body = {"trigger": "PRE_REGISTER", "name": "check", "code": ALLOW, **body}
    return client.post("/api/v1/functions", body, format="json")


def with_csrf(persona: Persona) -> APIClient:
    client = persona.session()
    token = _get_new_csrf_string()
    client.cookies["csrftoken"] = token
    client.credentials(HTTP_X_CSRFTOKEN=token)
    return client


def test_creating_a_function_returns_the_draft_with_defaults(alice: Persona) -> None:
    response = create(alice.api(), description="Checks things")
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == FUNCTION_KEYS
    assert body["id"].startswith("fn_")
    assert body["trigger"] == "PRE_REGISTER" and body["position"] == 0
    # PRE_REGISTER is a blocking trigger: a new gate denies on timeout (fails closed).
    assert (body["enabled"], body["is_async"], body["terminate_on_timeout"]) == (True, False, True)
    assert body["timeout_ms"] == 3000 and body["code"] == ALLOW
    assert body["live_version"] is None and body["has_unpublished_changes"] is True
    assert body["created_at"].endswith("Z") or "+" in body["created_at"]


def test_creating_with_publish_releases_version_1(alice: Persona) -> None:
    body = create(alice.api(), publish=True, comment="v1").json()
    assert body["live_version"] == 1 and body["has_unpublished_changes"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"trigger": None}, "trigger"),
        ({"trigger": "NOPE"}, "trigger"),
        ({"name": 5}, "name"),
        ({"name": ""}, "name"),
        ({"name": "n" * 101}, "name"),
        ({"code": ["x"]}, "code"),
        ({"enabled": "true"}, "enabled"),
        ({"is_async": 1}, "is_async"),
        ({"timeout_ms": "3000"}, "timeout_ms"),
        ({"timeout_ms": 99}, "timeout_ms"),
        ({"timeout_ms": 60001}, "timeout_ms"),
        ({"timeout_ms": 1.5}, "timeout_ms"),
        ({"publish": "yes"}, "publish"),
        ({"live_version": 3}, "live_version"),
    ],
)
def test_invalid_fields_are_400_naming_the_field(
    alice: Persona, body: dict[str, Any], field: str
) -> None:
    error = assert_error(create(alice.api(), **body), 400, "invalid_request")
    assert field in error["details"]["fields"]
    assert not Function.objects.exists()


@pytest.mark.parametrize("missing", ["trigger", "name", "code"])
def test_trigger_name_and_code_are_required(alice: Persona, missing: str) -> None:
    body = {"trigger": "PRE_REGISTER", "name": "check", "code": ALLOW}
    del body[missing]
    error = assert_error(
        alice.api().post("/api/v1/functions", body, format="json"), 400, "invalid_request"
    )
    assert missing in error["details"]["fields"]


def test_code_over_100_kb_is_refused(alice: Persona) -> None:
    error = assert_error(create(alice.api(), code="x" * (100 * 1024 + 1)), 400, "invalid_request")
    assert error["details"]["field"] == "code" and error["details"]["limit"] == 100 * 1024


def test_a_body_that_is_not_an_object_is_refused(alice: Persona) -> None:
    for body in ("[1, 2]", '"text"', "{broken"):
        response = alice.api().post("/api/v1/functions", body, content_type="application/json")
        assert_error(response, 400, "invalid_request")


def test_a_duplicate_name_is_a_409_conflict(alice: Persona) -> None:
    assert create(alice.api()).status_code == 201
    error = assert_error(create(alice.api()), 409, "conflict")
    assert error["details"]["field"] == "name"
    assert create(alice.api(), trigger="POST_REGISTER").status_code == 201


def test_editing_the_draft_leaves_the_live_version_until_publish(alice: Persona) -> None:
    client = alice.api()
    fid = create(client, publish=True).json()["id"]
    response = client.patch(
        f"/api/v1/functions/{fid}", {"code": DENY, "comment": "close"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["code"] == DENY
    assert response.json()["live_version"] == 1 and response.json()["has_unpublished_changes"]
    assert Function.objects.get(pk=fid).live_release.code == ALLOW
    release = client.post(f"/api/v1/functions/{fid}/publish", {"comment": "closed"}, format="json")
    assert release.status_code == 201
    assert set(release.json()) == RELEASE_KEYS
    assert release.json()["version"] == 2 and release.json()["live"] is True
    assert release.json()["author"] == f"key:{alice.key[:11]}"
    assert Function.objects.get(pk=fid).live_release.code == DENY


def test_settings_are_edited_with_patch(alice: Persona) -> None:
    client = alice.api()
    fid = create(client).json()["id"]
    body = {"enabled": False, "timeout_ms": 10000, "terminate_on_timeout": True, "name": "renamed"}
    response = client.patch(f"/api/v1/functions/{fid}", body, format="json")
    assert response.status_code == 200
    assert {k: response.json()[k] for k in body} == body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"enabled": "false"}, "enabled"),
        ({"timeout_ms": 0}, "timeout_ms"),
        ({"trigger": "POST_REGISTER"}, "trigger"),
        ({"position": 2}, "position"),
        ({"code": None}, "code"),
    ],
)
def test_invalid_edits_are_400_and_change_nothing(
    alice: Persona, body: dict[str, Any], field: str
) -> None:
    client = alice.api()
    fid = create(client).json()["id"]
    error = assert_error(
        client.patch(f"/api/v1/functions/{fid}", body, format="json"), 400, "invalid_request"
    )
    assert field in error["details"]["fields"]
    assert client.get(f"/api/v1/functions/{fid}").json()["enabled"] is True


def test_renaming_onto_a_sibling_is_a_409(alice: Persona) -> None:
    client = alice.api()
    create(client, name="a")
    fid = create(client, name="b").json()["id"]
    assert_error(
        client.patch(f"/api/v1/functions/{fid}", {"name": "a"}, format="json"), 409, "conflict"
    )


def test_invalid_code_is_refused_at_publish_with_its_line(alice: Persona) -> None:
    client = alice.api()
    broken = "async function pipe(user, context, callback) {\n  const x = ;\n}\n"
    fid = create(client, code=broken).json()["id"]
    error = assert_error(
        client.post(f"/api/v1/functions/{fid}/publish", {}, format="json"), 400, "invalid_code"
    )
    assert error["details"]["line"] == 2
    assert "column" in error["details"] and error["details"]["message"]
    assert client.get(f"/api/v1/functions/{fid}").json()["live_version"] is None


def test_publishing_nothing_new_is_a_409(alice: Persona) -> None:
    client = alice.api()
    fid = create(client, publish=True).json()["id"]
    error = assert_error(
        client.post(f"/api/v1/functions/{fid}/publish", {}, format="json"), 409, "conflict"
    )
    assert error["details"]["live_version"] == 1


def test_versions_list_history_newest_first_and_one_with_its_code(alice: Persona) -> None:
    client = alice.api()
    fid = create(client, code=tagging("v1"), publish=True, comment="first").json()["id"]
    client.patch(f"/api/v1/functions/{fid}", {"code": tagging("v2")}, format="json")
    client.post(f"/api/v1/functions/{fid}/publish", {"comment": "second"}, format="json")
    body = client.get(f"/api/v1/functions/{fid}/versions").json()
    assert body["next"] is None
    assert [(r["version"], r["comment"], r["live"]) for r in body["results"]] == [
        (2, "second", True),
        (1, "first", False),
    ]
    one = client.get(f"/api/v1/functions/{fid}/versions/1").json()
    assert set(one) == RELEASE_KEYS and one["code"] == tagging("v1") and one["live"] is False
    assert_error(client.get(f"/api/v1/functions/{fid}/versions/3"), 404, "not_found")
    assert_error(
        client.get(f"/api/v1/functions/{fid}/versions/99999999999999999999"), 404, "not_found"
    )


def test_versions_are_cursor_paginated(alice: Persona, monkeypatch: pytest.MonkeyPatch) -> None:
    from apps.api.views import pipelines

    monkeypatch.setattr(pipelines, "VERSIONS_PAGE_SIZE", 2)
    client = alice.api()
    fid = create(client, code=tagging("1"), publish=True).json()["id"]
    for tag in ("2", "3"):
        client.patch(f"/api/v1/functions/{fid}", {"code": tagging(tag)}, format="json")
        client.post(f"/api/v1/functions/{fid}/publish", {}, format="json")
    first = client.get(f"/api/v1/functions/{fid}/versions").json()
    assert [r["version"] for r in first["results"]] == [3, 2]
    assert first["next"].endswith(f"/api/v1/functions/{fid}/versions?before=2")
    second = client.get(first["next"]).json()
    assert [r["version"] for r in second["results"]] == [1] and second["next"] is None
    for cursor in ("abc", "0", "-1", "²", "9" * 5000):
        response = client.get(f"/api/v1/functions/{fid}/versions", {"before": cursor})
        error = assert_error(response, 400, "invalid_request")
        assert "before" in error["details"]["fields"]


def test_rollback_publishes_a_copy_of_an_old_release(alice: Persona) -> None:
    client = alice.api()
    fid = create(client, code=tagging("v1"), publish=True).json()["id"]
    client.patch(f"/api/v1/functions/{fid}", {"code": tagging("v2")}, format="json")
    client.post(f"/api/v1/functions/{fid}/publish", {}, format="json")
    response = client.post(f"/api/v1/functions/{fid}/rollback", {"version": 1}, format="json")
    assert response.status_code == 201
    assert response.json()["version"] == 3 and response.json()["code"] == tagging("v1")
    function = client.get(f"/api/v1/functions/{fid}").json()
    assert function["live_version"] == 3 and function["code"] == tagging("v1")
    for body, status, code in (
        ({"version": 9}, 404, "not_found"),
        ({"version": "1"}, 400, "invalid_request"),
        ({}, 400, "invalid_request"),
        ({"version": 1}, 409, "conflict"),
    ):
        assert_error(
            client.post(f"/api/v1/functions/{fid}/rollback", body, format="json"), status, code
        )


def test_deleting_a_function_removes_it(alice: Persona) -> None:
    client = alice.api()
    fid = create(client, publish=True).json()["id"]
    assert client.delete(f"/api/v1/functions/{fid}").status_code == 204
    assert_error(client.get(f"/api/v1/functions/{fid}"), 404, "not_found")
    assert not Release.objects.exists()


def test_charlie_cannot_touch_acmes_functions(alice: Persona, charlie: Persona) -> None:
    fid = create(alice.api(), code=tagging("v1"), publish=True).json()["id"]
    alice.api().patch(f"/api/v1/functions/{fid}", {"code": tagging("v2")}, format="json")
    alice.api().post(f"/api/v1/functions/{fid}/publish", {}, format="json")
    events = AuditEvent.objects.count()
    for client in (charlie.api(), with_csrf(charlie)):
        for method, path, body in (
            ("get", "", None),
            ("patch", "", {"code": DENY}),
            ("post", "/publish", {}),
            ("get", "/versions", None),
            ("get", "/versions/1", None),
            ("post", "/rollback", {"version": 1}),
            ("delete", "", None),
        ):
            response = getattr(client, method)(
                f"/api/v1/functions/{fid}{path}", body, format="json"
            )
            assert_error(response, 404, "not_found")
    function = Function.objects.get(pk=fid)
    assert function.live_release.version == 2 and function.code == tagging("v2")
    assert AuditEvent.objects.count() == events


def test_a_viewer_reads_but_cannot_write(alice: Persona, bob: Persona) -> None:
    fid = create(alice.api(), publish=True).json()["id"]
    client = with_csrf(bob)
    assert client.get(f"/api/v1/functions/{fid}").status_code == 200
    assert client.get(f"/api/v1/functions/{fid}/versions").status_code == 200
    assert client.get(f"/api/v1/functions/{fid}/versions/1").status_code == 200
    for method, path, body in (
        ("post", "/api/v1/functions", {"trigger": "PRE_REGISTER", "name": "x", "code": ALLOW}),
        ("patch", f"/api/v1/functions/{fid}", {"code": DENY}),
        ("post", f"/api/v1/functions/{fid}/publish", {}),
        ("post", f"/api/v1/functions/{fid}/rollback", {"version": 1}),
        ("delete", f"/api/v1/functions/{fid}", None),
    ):
        assert_error(getattr(client, method)(path, body, format="json"), 403, "permission_denied")
    assert Function.objects.get(pk=fid).code == ALLOW


def test_a_developer_session_writes_with_csrf(dave: Persona) -> None:
    client = with_csrf(dave)
    response = create(client, publish=True)
    assert response.status_code == 201
    release = Release.objects.get(function_id=response.json()["id"])
    assert release.author == dave.user and release.author_label == "dave"
    assert_error(create(dave.session(), name="no-csrf"), 403, "permission_denied")


def test_a_key_without_the_manage_scope_is_403(alice: Persona) -> None:
    fid = create(alice.api()).json()["id"]
    _, key = api_key_create(
        tenant=alice.tenant, name="runner", scopes=["execute", "runs:read"], actor=Actor.system()
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert_error(client.get(f"/api/v1/functions/{fid}"), 403, "permission_denied")
    assert_error(create(client, name="other"), 403, "permission_denied")
    assert_error(
        client.post(f"/api/v1/functions/{fid}/publish", {}, format="json"), 403, "permission_denied"
    )


def test_anonymous_callers_are_401(alice: Persona) -> None:
    fid = create(alice.api()).json()["id"]
    assert_error(APIClient().get(f"/api/v1/functions/{fid}"), 401, "authentication_failed")


def test_the_schema_documents_the_management_endpoints() -> None:
    schema = APIClient().get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    for path in (
        "/api/v1/functions",
        "/api/v1/functions/{function_id}",
        "/api/v1/functions/{function_id}/publish",
        "/api/v1/functions/{function_id}/rollback",
        "/api/v1/functions/{function_id}/versions",
        "/api/v1/functions/{function_id}/versions/{version}",
        "/api/v1/pipelines",
        "/api/v1/pipelines/{trigger}",
        "/api/v1/pipelines/{trigger}/order",
    ):
        assert path in schema["paths"], path
    assert set(schema["components"]["schemas"]["Function"]["properties"]) == FUNCTION_KEYS
    assert set(schema["components"]["schemas"]["Release"]["properties"]) == RELEASE_KEYS
