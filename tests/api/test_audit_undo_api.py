"""POST /api/v1/audit-events/{id}/undo: undo a reorder or an enable/disable, as an attacker
would try it too."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent, AuditKind
from apps.core.actor import Actor
from apps.pipelines.models import Function
from apps.tenants.services import api_key_create
from tests.conftest import Persona, assert_error
from tests.runs.helpers import add_function, allow, csrf_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def reordered(alice: Persona) -> AuditEvent:
    ids = [add_function(alice.tenant, name, allow(name)).pk for name in "abc"]
    response = alice.api().put(
        "/api/v1/pipelines/PRE_REGISTER/order", {"function_ids": ids[::-1]}, format="json"
    )
    assert response.status_code == 200, response.content
    return AuditEvent.objects.get(kind=AuditKind.PIPELINE_REORDERED)


def undo(client: Any, event_id: str) -> Any:
    return client.post(f"/api/v1/audit-events/{event_id}/undo", format="json")


def order(persona: Persona) -> list[str]:
    body = persona.api().get("/api/v1/pipelines/PRE_REGISTER").json()
    return [function["name"] for function in body["functions"]]


def test_an_owner_undoes_a_reorder(alice: Persona, reordered: AuditEvent) -> None:
    assert order(alice) == ["c", "b", "a"]
    response = undo(alice.api(), reordered.id)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["undone"] == reordered.id
    assert body["event"]["kind"] == "pipeline.reordered"
    assert body["event"]["details"]["undo_of"] == reordered.id
    assert body["event"]["undoable"] is True
    assert order(alice) == ["a", "b", "c"]


def test_a_developer_session_undoes_a_disable(alice: Persona, dave: Persona) -> None:
    function = add_function(alice.tenant, "gate", allow("gate"))
    client = csrf_session(dave)
    client.patch(f"/api/v1/functions/{function.pk}", {"enabled": False}, format="json")
    event = AuditEvent.objects.get(kind=AuditKind.FUNCTION_DISABLED)
    response = undo(client, event.id)
    assert response.status_code == 200, response.content
    assert response.json()["event"]["kind"] == "function.enabled"
    assert response.json()["event"]["actor"] == "dave"
    assert Function.objects.get(pk=function.pk).enabled is True


def test_the_list_says_which_events_can_be_undone(alice: Persona, reordered: AuditEvent) -> None:
    events = alice.api().get("/api/v1/audit-events").json()["results"]
    undoable = {event["kind"] for event in events if event["undoable"]}
    assert undoable == {"pipeline.reordered"}


def test_charlie_cannot_undo_acmes_change(
    alice: Persona, charlie: Persona, reordered: AuditEvent
) -> None:
    assert_error(undo(charlie.api(), reordered.id), 404, "not_found")
    assert_error(undo(csrf_session(charlie), reordered.id), 404, "not_found")
    assert order(alice) == ["c", "b", "a"]


def test_bob_the_viewer_cannot_undo(alice: Persona, bob: Persona, reordered: AuditEvent) -> None:
    assert_error(undo(csrf_session(bob), reordered.id), 403, "permission_denied")
    assert order(alice) == ["c", "b", "a"]


@pytest.mark.parametrize("scopes", [["execute"], ["runs:read"], ["execute", "runs:read"]])
def test_keys_without_manage_cannot_undo(
    alice: Persona, reordered: AuditEvent, scopes: list[str]
) -> None:
    _, key = api_key_create(tenant=alice.tenant, name="k", scopes=scopes, actor=Actor.system())
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert_error(undo(client, reordered.id), 403, "permission_denied")


def test_anonymous_and_csrf_less_calls_are_refused(alice: Persona, reordered: AuditEvent) -> None:
    assert_error(undo(APIClient(), reordered.id), 401, "authentication_failed")
    assert_error(undo(alice.session(), reordered.id), 403, "permission_denied")
    assert order(alice) == ["c", "b", "a"]


def test_refusals_use_the_documented_error_shape(alice: Persona, reordered: AuditEvent) -> None:
    assert_error(undo(alice.api(), "evt_nope"), 404, "not_found")
    created = AuditEvent.objects.filter(kind=AuditKind.TENANT_CREATED, tenant=alice.tenant).get()
    error = assert_error(undo(alice.api(), created.id), 400, "invalid_request")
    assert error["details"]["field"] == "event_id"
    assert undo(alice.api(), reordered.id).status_code == 200
    assert_error(undo(alice.api(), reordered.id), 409, "conflict")
    get = alice.api().get(f"/api/v1/audit-events/{reordered.id}/undo")
    assert_error(get, 405, "method_not_allowed")
