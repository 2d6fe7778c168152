"""GET /api/v1/runs and /api/v1/runs/{id}: the run log, tenant-scoped and filterable."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.runs.models import Run
from tests.conftest import Persona, assert_error
from tests.runs.helpers import csrf_session, execute

pytestmark = pytest.mark.django_db

RUN_KEYS = {
    "run_id",
    "trigger",
    "source",
    "decision",
    "status",
    "error",
    "input",
    "output",
    "steps",
    "duration_ms",
    "created_at",
    "caller",
    "idempotency_key",
}


def run_for(persona: Persona, trigger: str = "PRE_REGISTER", **user: Any) -> str:
    body = {"user": user or {"id": "u_1", "email": "ann@example.com"}, "context": {}}
    return str(execute(persona, trigger, body={**body, "mode": "sync"}).json()["run_id"])


def listing(persona: Persona, query: str = "") -> Any:
    return persona.api().get(f"/api/v1/runs{query}")


def test_a_run_is_returned_whole(alice: Persona) -> None:
    run_id = run_for(alice)
    response = alice.api().get(f"/api/v1/runs/{run_id}")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == RUN_KEYS
    assert body["run_id"] == run_id and body["source"] == "api"
    assert body["decision"] == "allow" and body["status"] == "ok" and body["error"] is None
    assert body["input"] == {"user": {"id": "u_1", "email": "ann@example.com"}, "context": {}}
    assert set(body["output"]) == {
        "user",
        "context",
        "custom_data",
        "id_token_claims",
        "access_token_claims",
    }
    assert body["caller"] == f"key:{alice.key[:11]}"
    assert body["idempotency_key"] is None
    assert body["created_at"].endswith("+00:00")


def test_charlie_cannot_read_acmes_runs(alice: Persona, charlie: Persona) -> None:
    run_id = run_for(alice)
    assert_error(charlie.api().get(f"/api/v1/runs/{run_id}"), 404, "not_found")
    assert listing(charlie).json()["results"] == []


def test_an_unknown_run_is_a_404(alice: Persona) -> None:
    assert_error(alice.api().get("/api/v1/runs/run_nope"), 404, "not_found")


def test_a_viewer_session_reads_runs(alice: Persona, bob: Persona) -> None:
    run_id = run_for(alice)
    session = csrf_session(bob)
    assert session.get(f"/api/v1/runs/{run_id}").status_code == 200
    assert [r["run_id"] for r in session.get("/api/v1/runs").json()["results"]] == [run_id]


def test_reading_runs_needs_the_runs_read_scope(alice: Persona) -> None:
    from apps.core.actor import Actor
    from apps.tenants.services import api_key_create

    _, key = api_key_create(
        tenant=alice.tenant, name="ex", scopes=["execute"], actor=Actor.system()
    )
    client = alice.api()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert_error(client.get("/api/v1/runs"), 403, "permission_denied")


def test_the_list_is_newest_first_and_cursor_paginated(alice: Persona) -> None:
    ids = [run_for(alice) for _ in range(5)]
    first = listing(alice, "?limit=2").json()
    assert [r["run_id"] for r in first["results"]] == ids[::-1][:2]
    second = alice.api().get(first["next"]).json()
    third = alice.api().get(second["next"]).json()
    assert [r["run_id"] for r in second["results"] + third["results"]] == ids[::-1][2:]
    assert third["next"] is None


def test_the_list_filters_by_trigger_decision_status_and_source(alice: Persona) -> None:
    register = run_for(alice, "PRE_REGISTER")
    login = run_for(alice, "PRE_AUTHENTICATION")
    assert [r["run_id"] for r in listing(alice, "?trigger=PRE_REGISTER").json()["results"]] == [
        register
    ]
    assert {r["run_id"] for r in listing(alice, "?decision=allow&status=ok").json()["results"]} == {
        register,
        login,
    }
    assert listing(alice, "?decision=deny").json()["results"] == []
    assert listing(alice, "?source=test").json()["results"] == []


def test_the_list_searches_by_run_id_user_id_and_email(alice: Persona) -> None:
    ann = run_for(alice, id="u_ann", email="Ann@Example.com")
    ben = run_for(alice, userId="u_ben", email="ben@example.com")
    for query, expected in [
        (f"?q={ann}", [ann]),
        ("?q=u_ben", [ben]),
        ("?q=ann@example.com", [ann]),
        ("?q=nobody", []),
    ]:
        assert [r["run_id"] for r in listing(alice, query).json()["results"]] == expected


def test_the_list_filters_by_function_and_dates(alice: Persona) -> None:
    old = run_for(alice)
    Run.objects.filter(id=old).update(
        created_at=timezone.now() - timedelta(days=3), function_ids=" fn_A "
    )
    new = run_for(alice)
    since = (timezone.now() - timedelta(days=1)).date().isoformat()
    assert [r["run_id"] for r in listing(alice, f"?since={since}").json()["results"]] == [new]
    assert [r["run_id"] for r in listing(alice, f"?until={since}").json()["results"]] == [old]
    assert [r["run_id"] for r in listing(alice, "?function=fn_A").json()["results"]] == [old]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?since=yesterday", "since"),
        ("?until=2026-13-40", "until"),
        ("?decision=maybe", "decision"),
        ("?status=fine", "status"),
        ("?source=cli", "source"),
        ("?trigger=PRE_NOTHING", "trigger"),
        ("?limit=0", "limit"),
        ("?limit=many", "limit"),
        ("?cursor=%%%", "cursor"),
        ("?sort=asc", "sort"),
    ],
)
def test_a_bad_filter_is_a_400_naming_it(alice: Persona, query: str, field: str) -> None:
    error = assert_error(listing(alice, query), 400, "invalid_request")
    assert field in error["details"]["fields"]
