"""GET /api/v1/audit-events: the tenant's configuration history, newest first."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.core.actor import Actor
from apps.tenants.services import api_key_create
from tests.conftest import Persona, assert_error
from tests.runs.helpers import csrf_session

pytestmark = pytest.mark.django_db

CODE = "async function pipe(user, context, callback) {\n  callback(null, user, context);\n}\n"
EVENT_KEYS = {
    "id",
    "kind",
    "description",
    "actor",
    "object_type",
    "object_id",
    "details",
    "created_at",
    "undoable",
}


def create_function(persona: Persona, name: str, trigger: str = "PRE_REGISTER") -> str:
    body = {"trigger": trigger, "name": name, "code": CODE}
    response = persona.api().post("/api/v1/functions", body, format="json")
    assert response.status_code == 201, response.content
    return str(response.json()["id"])


def events(persona: Persona, query: str = "", client: Any = None) -> Any:
    return (client or persona.api()).get(f"/api/v1/audit-events{query}")


def kinds(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [event["kind"] for event in response.json()["results"]]


def key_with(persona: Persona, scopes: list[str]) -> Any:
    _, key = api_key_create(tenant=persona.tenant, name="k", scopes=scopes, actor=Actor.system())
    client = persona.api()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def test_it_lists_the_tenants_changes_newest_first(alice: Persona) -> None:
    function_id = create_function(alice, "check")
    alice.api().post(f"/api/v1/functions/{function_id}/publish", {}, format="json")
    body = events(alice).json()
    assert body["next"] is None
    first = body["results"][0]
    assert set(first) == EVENT_KEYS
    assert first["kind"] == "function.published"
    assert first["description"] == "Function published"
    assert first["actor"] == f"key:{alice.key[:11]}"
    assert (first["object_type"], first["object_id"]) == ("function", function_id)
    assert first["details"]["version"] == 1
    assert first["created_at"].endswith("+00:00")
    assert kinds(events(alice))[:2] == ["function.published", "function.created"]


def test_charlie_never_sees_acmes_events(alice: Persona, charlie: Persona) -> None:
    function_id = create_function(alice, "check")
    seen = events(charlie).json()["results"]
    assert seen and all(event["object_id"] != function_id for event in seen)
    assert {event["id"] for event in seen}.isdisjoint(
        AuditEvent.objects.filter(tenant=alice.tenant).values_list("id", flat=True)
    )
    assert events(charlie, f"?object={function_id}").json()["results"] == []


def test_charlie_cannot_page_into_acmes_events_with_a_forged_cursor(
    alice: Persona, charlie: Persona
) -> None:
    for name in ("a", "b", "c"):
        create_function(alice, name)
    acme_next = events(alice, "?limit=1").json()["next"]
    cursor = acme_next.split("cursor=")[1].split("&")[0]
    page = events(charlie, f"?cursor={cursor}").json()["results"]
    assert not {event["id"] for event in page} & set(
        AuditEvent.objects.filter(tenant=alice.tenant).values_list("id", flat=True)
    )


def test_it_filters_by_kind_object_actor_and_since(alice: Persona, dave: Persona) -> None:
    first = create_function(alice, "first")
    second = create_function(dave, "second")
    assert [e["object_id"] for e in events(alice, f"?object={first}").json()["results"]] == [first]
    assert kinds(events(alice, "?kind=function.created")) == ["function.created"] * 2
    by_dave = events(alice, f"?actor=key:{dave.key[:11]}").json()["results"]
    assert [e["object_id"] for e in by_dave] == [second]
    AuditEvent.objects.filter(object_id=first).update(created_at=timezone.now() - timedelta(days=3))
    since = (timezone.now() - timedelta(days=1)).isoformat()
    recent = events(alice, "?" + f"since={since}".replace("+", "%2B")).json()["results"]
    assert first not in {e["object_id"] for e in recent}
    assert second in {e["object_id"] for e in recent}
    assert events(alice, "?since=2000-01-01&kind=function.created&object=fn_nope").json() == {
        "results": [],
        "next": None,
    }


def test_it_is_cursor_paginated_with_the_filters_kept(alice: Persona) -> None:
    ids = [create_function(alice, f"f{n}") for n in range(5)]
    page = events(alice, "?kind=function.created&limit=2").json()
    seen = [e["object_id"] for e in page["results"]]
    assert "kind=function.created" in page["next"]
    while page["next"]:
        page = alice.api().get(page["next"]).json()
        seen += [e["object_id"] for e in page["results"]]
    assert seen == ids[::-1]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?since=yesterday", "since"),
        ("?since=2026-02-30", "since"),
        ("?until=soon", "until"),
        ("?kind=function.exploded", "kind"),
        ("?limit=0", "limit"),
        ("?limit=1000", "limit"),
        ("?cursor=%%%", "cursor"),
        ("?sort=asc", "sort"),
    ],
)
def test_a_bad_filter_is_a_400_naming_the_field(alice: Persona, query: str, field: str) -> None:
    error = assert_error(events(alice, query), 400, "invalid_request")
    assert field in error["details"]["fields"]


def test_without_credentials_it_is_a_401(acme: Any) -> None:
    from rest_framework.test import APIClient

    assert_error(APIClient().get("/api/v1/audit-events"), 401, "authentication_failed")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer gp_notakeyatallnotakeyatallnotakey")
    assert_error(client.get("/api/v1/audit-events"), 401, "authentication_failed")


@pytest.mark.parametrize(
    ("scopes", "allowed"),
    [
        (["execute"], False),
        (["runs:read"], True),
        (["manage"], True),
        (["execute", "runs:read"], True),
    ],
)
def test_keys_need_manage_or_runs_read(alice: Persona, scopes: list[str], allowed: bool) -> None:
    response = events(alice, client=key_with(alice, scopes))
    if allowed:
        assert response.status_code == 200
    else:
        assert_error(response, 403, "permission_denied")


def test_a_viewer_session_reads_the_history(alice: Persona, bob: Persona) -> None:
    function_id = create_function(alice, "check")
    seen = events(bob, client=csrf_session(bob)).json()["results"]
    assert function_id in {e["object_id"] for e in seen}


def test_it_is_read_only(alice: Persona) -> None:
    response = alice.api().post("/api/v1/audit-events", {}, format="json")
    assert_error(response, 405, "method_not_allowed")


def test_the_schema_documents_it() -> None:
    from rest_framework.test import APIClient

    schema = APIClient().get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/v1/audit-events"]["get"]
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert {"kind", "object", "actor", "since", "cursor", "limit"} <= names
    assert "runs:read" in operation["description"]


def test_since_takes_an_offset_even_when_its_plus_was_not_encoded(alice: Persona) -> None:
    function_id = create_function(alice, "check")
    later = (timezone.now() + timedelta(hours=1)).astimezone(timezone.get_fixed_timezone(120))
    raw = later.isoformat(timespec="seconds")  # "...T18:00:00+02:00", sent as is
    assert "+" in raw
    assert events(alice, f"?since={raw}").json()["results"] == []
    earlier = (timezone.now() - timedelta(hours=1)).astimezone(timezone.get_fixed_timezone(120))
    seen = events(alice, f"?since={earlier.isoformat(timespec='seconds')}").json()["results"]
    assert function_id in {event["object_id"] for event in seen}
