"""POST /pipelines/{trigger}/test and /functions/{id}/test: drafts, recorded as source "test"."""

from __future__ import annotations

import pytest

from apps.runs.models import Run
from tests.conftest import Persona, assert_error
from tests.runs.helpers import DENY, MARKS, add_function, allow, csrf_session, payload

pytestmark = pytest.mark.django_db


def test_pipeline_test_runs_the_drafts_and_records_a_test_run(alice: Persona) -> None:
    released = add_function(alice.tenant, "marks", MARKS % {"mark": "live"})
    released.code = MARKS % {"mark": "draft"}
    released.save()
    unreleased = add_function(alice.tenant, "new", allow("new"), publish=False)
    response = alice.api().post("/api/v1/pipelines/PRE_REGISTER/test", payload(), format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["decision"] == "allow"
    assert body["context"]["version"] == "draft"
    assert [step["function_id"] for step in body["steps"]] == [released.id, unreleased.id]
    assert [step["version"] for step in body["steps"]] == [None, None]
    run = Run.objects.get(id=body["run_id"])
    assert run.source == "test" and run.caller == f"key:{alice.key[:11]}"


def test_pipeline_test_shows_async_functions_outcomes_at_once(alice: Persona) -> None:
    add_function(alice.tenant, "notify", allow("notify"), is_async=True)
    body = alice.api().post("/api/v1/pipelines/PRE_REGISTER/test", payload(), format="json").json()
    assert [step["status"] for step in body["steps"]] == ["ok"]
    assert Run.objects.get(id=body["run_id"]).status == "ok"


def test_function_test_runs_the_draft_or_the_given_code(alice: Persona) -> None:
    function = add_function(alice.tenant, "marks", MARKS % {"mark": "live"})
    function.code = MARKS % {"mark": "draft"}
    function.save()
    url = f"/api/v1/functions/{function.id}/test"
    draft = alice.api().post(url, payload(), format="json").json()
    assert draft["context"]["version"] == "draft"
    given = alice.api().post(url, payload(code=DENY), format="json").json()
    assert given["decision"] == "deny" and given["error"]["function"] == "marks"
    runs = Run.objects.filter(source="test", trigger="PRE_REGISTER")
    assert runs.count() == 2


def test_a_test_of_another_tenants_function_is_a_404(alice: Persona, charlie: Persona) -> None:
    function = add_function(alice.tenant, "secretive", allow("secretive"))
    response = charlie.api().post(f"/api/v1/functions/{function.id}/test", payload(), format="json")
    assert_error(response, 404, "not_found")
    assert not Run.objects.exists()


def test_charlies_pipeline_test_never_runs_acmes_functions(
    alice: Persona, charlie: Persona
) -> None:
    add_function(alice.tenant, "acme-deny", DENY, publish=False)
    body = charlie.api().post("/api/v1/pipelines/PRE_REGISTER/test", payload(), format="json")
    assert body.json()["steps"] == [] and body.json()["decision"] == "allow"
    assert Run.objects.get().tenant == charlie.tenant


def test_a_viewer_cannot_run_tests(alice: Persona, bob: Persona) -> None:
    function = add_function(alice.tenant, "f", allow("f"))
    session = csrf_session(bob)
    for url in ("/api/v1/pipelines/PRE_REGISTER/test", f"/api/v1/functions/{function.id}/test"):
        assert_error(session.post(url, payload(), format="json"), 403, "permission_denied")
    assert not Run.objects.exists()


def test_a_developer_session_runs_tests(dave: Persona) -> None:
    response = csrf_session(dave).post(
        "/api/v1/pipelines/PRE_REGISTER/test", payload(), format="json"
    )
    assert response.status_code == 200
    assert Run.objects.get().caller == "user:dave"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"context": {}}, "user"),
        ({"user": {}, "context": {}, "code": ""}, "code"),
        ({"user": {}, "context": {}, "code": 5}, "code"),
        ({"user": {}, "context": {}, "code": "x" * (100 * 1024 + 1)}, "code"),
        ({"user": {}, "context": {}, "mode": "sync"}, "mode"),
    ],
)
def test_a_bad_function_test_body_is_a_400(alice: Persona, body: object, field: str) -> None:
    function = add_function(alice.tenant, "f", allow("f"))
    response = alice.api().post(f"/api/v1/functions/{function.id}/test", body, format="json")
    assert field in assert_error(response, 400, "invalid_request")["details"]["fields"]
    assert not Run.objects.exists()


def test_an_unknown_trigger_test_is_a_404(alice: Persona) -> None:
    response = alice.api().post("/api/v1/pipelines/NOPE/test", payload(), format="json")
    assert_error(response, 404, "unknown_trigger")
