"""/api/v1/pipelines: the list of triggers, one pipeline, reordering."""

from __future__ import annotations

from typing import Any

import pytest

from apps.audit.models import AuditEvent, AuditKind
from apps.core.triggers import TRIGGERS
from apps.pipelines.models import Function
from tests.api.test_functions_api import with_csrf
from tests.conftest import Persona, assert_error
from tests.pipelines.conftest import make_function, system

pytestmark = pytest.mark.django_db
__all__ = ["make_function", "system"]  # fixtures used here


def order_of(tenant: Any, trigger: str = "PRE_REGISTER") -> list[str]:
    functions = Function.objects.filter(tenant=tenant, pipeline__trigger=trigger).order_by(
        "position"
    )
    return [f.name for f in functions]


def test_the_list_has_every_trigger_with_its_function_count(
    alice: Persona, make_function: Any
) -> None:
    make_function(alice.tenant, "a")
    make_function(alice.tenant, "b")
    body = alice.api().get("/api/v1/pipelines").json()
    assert body["next"] is None
    assert [p["trigger"] for p in body["results"]] == list(TRIGGERS)
    by_trigger = {p["trigger"]: p for p in body["results"]}
    assert by_trigger["PRE_REGISTER"]["function_count"] == 2
    assert by_trigger["POST_REGISTER"] == {
        "trigger": "POST_REGISTER",
        "description": TRIGGERS["POST_REGISTER"].description,
        "blocking": False,
        "default_mode": "async",
        "function_count": 0,
        "settings": {},
    }


def test_a_pipeline_lists_its_functions_in_order(alice: Persona, make_function: Any) -> None:
    for name in ("first", "second"):
        make_function(alice.tenant, name)
    body = alice.api().get("/api/v1/pipelines/PRE_REGISTER").json()
    assert set(body) == {"trigger", "functions", "settings"}
    assert [(f["name"], f["position"]) for f in body["functions"]] == [("first", 0), ("second", 1)]
    empty = alice.api().get("/api/v1/pipelines/POST_MFA_VERIFY").json()
    assert empty == {"trigger": "POST_MFA_VERIFY", "functions": [], "settings": {}}


def test_an_unknown_trigger_is_a_404_unknown_trigger(alice: Persona) -> None:
    client = alice.api()
    error = assert_error(client.get("/api/v1/pipelines/PRE_NOTHING"), 404, "unknown_trigger")
    assert "PRE_REGISTER" in error["details"]["valid"]
    body = {"function_ids": []}
    assert_error(
        client.put("/api/v1/pipelines/pre_register/order", body, format="json"),
        404,
        "unknown_trigger",
    )


def test_reordering_names_every_function(alice: Persona, make_function: Any) -> None:
    a, b, c = (make_function(alice.tenant, name) for name in "abc")
    response = alice.api().put(
        "/api/v1/pipelines/PRE_REGISTER/order", {"function_ids": [b.pk, c.pk, a.pk]}, format="json"
    )
    assert response.status_code == 200
    assert [f["name"] for f in response.json()["functions"]] == ["b", "c", "a"]
    assert order_of(alice.tenant) == ["b", "c", "a"]


@pytest.mark.parametrize("case", ["missing", "duplicate", "foreign", "unknown", "other_trigger"])
def test_reordering_with_wrong_ids_is_refused(
    alice: Persona, charlie: Persona, make_function: Any, case: str
) -> None:
    a, b = make_function(alice.tenant, "a"), make_function(alice.tenant, "b")
    ids = {
        "missing": [b.pk],
        "duplicate": [b.pk, a.pk, a.pk],
        "foreign": [b.pk, a.pk, make_function(charlie.tenant, "theirs").pk],
        "unknown": [b.pk, a.pk, "fn_01NOTAREALID0000000000000"],
        "other_trigger": [b.pk, a.pk, make_function(alice.tenant, "x", trigger="POST_REGISTER").pk],
    }[case]
    response = alice.api().put(
        "/api/v1/pipelines/PRE_REGISTER/order", {"function_ids": ids}, format="json"
    )
    error = assert_error(response, 400, "invalid_request")
    assert error["details"]["field"] == "function_ids"
    assert order_of(alice.tenant) == ["a", "b"]


@pytest.mark.parametrize("body", [{}, {"function_ids": "fn_x"}, {"function_ids": [1, 2]}, [1]])
def test_reordering_with_a_malformed_body_is_refused(
    alice: Persona, make_function: Any, body: Any
) -> None:
    make_function(alice.tenant, "a")
    response = alice.api().put("/api/v1/pipelines/PRE_REGISTER/order", body, format="json")
    assert_error(response, 400, "invalid_request")


def test_charlie_cannot_see_or_reorder_acmes_pipeline(
    alice: Persona, charlie: Persona, make_function: Any
) -> None:
    a, b = make_function(alice.tenant, "a"), make_function(alice.tenant, "b")
    for client in (charlie.api(), with_csrf(charlie)):
        body = client.get("/api/v1/pipelines/PRE_REGISTER").json()
        assert body["functions"] == []
        counts = {
            p["trigger"]: p["function_count"]
            for p in client.get("/api/v1/pipelines").json()["results"]
        }
        assert counts["PRE_REGISTER"] == 0
        response = client.put(
            "/api/v1/pipelines/PRE_REGISTER/order", {"function_ids": [b.pk, a.pk]}, format="json"
        )
        assert_error(response, 400, "invalid_request")
    assert order_of(alice.tenant) == ["a", "b"]
    assert not AuditEvent.objects.filter(kind=AuditKind.PIPELINE_REORDERED).exists()


def test_a_viewer_reads_pipelines_but_cannot_reorder(bob: Persona, make_function: Any) -> None:
    a, b = make_function(bob.tenant, "a"), make_function(bob.tenant, "b")
    client = with_csrf(bob)
    assert client.get("/api/v1/pipelines").status_code == 200
    assert len(client.get("/api/v1/pipelines/PRE_REGISTER").json()["functions"]) == 2
    response = client.put(
        "/api/v1/pipelines/PRE_REGISTER/order", {"function_ids": [b.pk, a.pk]}, format="json"
    )
    assert_error(response, 403, "permission_denied")
    assert order_of(bob.tenant) == ["a", "b"]
