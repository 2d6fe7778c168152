"""POST /api/v1/pipelines/{trigger}/execute: SPEC §6, with real functions in the sandbox."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from apps.core.triggers import TRIGGERS
from apps.runs.models import Run
from tests.conftest import Persona, assert_error
from tests.runs.helpers import (
    DENY,
    MARKS,
    RESPONSE_KEYS,
    SPINS,
    THROWS,
    add_function,
    allow,
    csrf_session,
    execute,
    payload,
    release_code,
)

pytestmark = pytest.mark.django_db

STEP_KEYS = {"function_id", "name", "version", "status", "duration_ms", "logs", "error"}


@pytest.mark.parametrize("trigger", list(TRIGGERS))
def test_each_trigger_answers_in_its_default_mode(
    alice: Persona, trigger: str, django_capture_on_commit_callbacks: Any
) -> None:
    function = add_function(alice.tenant, "first", allow("first"), trigger=trigger)
    with django_capture_on_commit_callbacks(execute=True):
        response = execute(alice, trigger)
    run = Run.objects.get(id=response.json()["run_id"])
    if TRIGGERS[trigger].blocking:
        assert response.status_code == 200
        assert response.json()["decision"] == "allow"
        assert run.mode == "sync"
    else:
        assert response.status_code == 202
        assert response.json() == {"run_id": run.id, "status": "queued"}
        assert run.mode == "async"
    # Celery runs eagerly in tests (on commit), so an async-mode run is complete by now.
    assert run.decision == "allow"
    assert [step["function_id"] for step in run.steps] == [function.id]
    assert run.steps[0]["status"] == "ok"


def test_an_allow_returns_the_exact_response_shape(alice: Persona) -> None:
    function = add_function(alice.tenant, "tagger", allow("tagger"))
    response = execute(alice)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == RESPONSE_KEYS
    assert body["run_id"].startswith("run_") and len(body["run_id"]) == 30
    assert body["trigger"] == "PRE_REGISTER"
    assert body["decision"] == "allow" and body["error"] is None
    assert body["user"]["email"] == "ann@example.com"
    assert "addCustomData" not in body["user"]
    assert body["context"]["seen"] == ["tagger"]
    assert body["custom_data"] == {"plan": "free"}
    assert body["id_token_claims"] == {"set": {}, "remove": []}
    assert body["access_token_claims"] == {"set": {}, "remove": []}
    assert isinstance(body["duration_ms"], float | int)
    [step] = body["steps"]
    assert set(step) == STEP_KEYS
    assert (step["function_id"], step["name"], step["version"]) == (function.id, "tagger", 1)
    assert step["status"] == "ok" and step["error"] is None
    assert any("hello from tagger" in entry["message"] for entry in step["logs"])


def test_functions_run_in_order_passing_user_and_context_along(alice: Persona) -> None:
    add_function(alice.tenant, "one", allow("one"))
    add_function(alice.tenant, "two", allow("two"))
    body = execute(alice).json()
    assert body["context"]["seen"] == ["one", "two"]
    assert [step["name"] for step in body["steps"]] == ["one", "two"]


def test_a_deny_is_a_200_with_its_code_message_and_function(alice: Persona) -> None:
    add_function(alice.tenant, "domain-check", DENY)
    add_function(alice.tenant, "after", allow("after"))
    response = execute(alice)
    assert response.status_code == 200
    body = response.json()
    assert body["decision"] == "deny"
    assert body["error"] == {
        "code": "domain_not_allowed",
        "message": "Only example.com addresses may register",
        "function": "domain-check",
    }
    assert body["steps"][0]["status"] == "denied"
    assert all(step["status"] != "ok" for step in body["steps"][1:])
    run = Run.objects.get(id=body["run_id"])
    assert (run.decision, run.status, run.error_code) == ("deny", "denied", "domain_not_allowed")
    assert run.error_function == "domain-check"


def test_a_thrown_error_denies_with_a_generic_message_and_records_the_real_one(
    alice: Persona,
) -> None:
    add_function(alice.tenant, "broken", THROWS)
    body = execute(alice).json()
    assert body["decision"] == "deny"
    assert body["error"]["code"] == "function_error"
    assert "the real reason" not in body["error"]["message"]
    run = Run.objects.get(id=body["run_id"])
    assert run.status == "error"
    assert "the real reason" in json.dumps(run.steps[0]["error"])


def test_a_timeout_without_terminate_skips_the_step_with_the_objects_unchanged(
    alice: Persona,
) -> None:
    add_function(alice.tenant, "slow", SPINS, timeout_ms=200)
    add_function(alice.tenant, "after", allow("after"))
    body = execute(alice).json()
    assert body["decision"] == "allow"
    assert [step["status"] for step in body["steps"]] == ["timeout", "ok"]
    assert "touched" not in body["context"]
    assert body["context"]["seen"] == ["after"]
    assert Run.objects.get(id=body["run_id"]).status == "timeout"


def test_a_timeout_with_terminate_denies_with_function_timeout(alice: Persona) -> None:
    add_function(alice.tenant, "slow", SPINS, timeout_ms=200, terminate_on_timeout=True)
    add_function(alice.tenant, "after", allow("after"))
    body = execute(alice).json()
    assert body["decision"] == "deny"
    assert body["error"]["code"] == "function_timeout"
    assert body["error"]["function"] == "slow"
    assert body["steps"][0]["status"] == "timeout"
    assert "after" not in body["context"].get("seen", [])


def test_an_empty_pipeline_allows_with_the_input_unchanged(alice: Persona) -> None:
    response = execute(alice)
    assert response.status_code == 200
    body = response.json()
    assert body["decision"] == "allow" and body["error"] is None
    assert body["user"] == payload()["user"] and body["context"] == payload()["context"]
    assert body["steps"] == [] and body["custom_data"] == {}
    assert Run.objects.get(id=body["run_id"]).status == "ok"


def test_disabled_functions_are_skipped(alice: Persona) -> None:
    add_function(alice.tenant, "off", DENY, enabled=False)
    on = add_function(alice.tenant, "on", allow("on"))
    body = execute(alice).json()
    assert body["decision"] == "allow"
    assert [step["function_id"] for step in body["steps"]] == [on.id]


def test_drafts_are_never_executed(alice: Persona) -> None:
    unreleased = add_function(alice.tenant, "unreleased", DENY, publish=False)
    edited = add_function(alice.tenant, "edited", MARKS % {"mark": "v1"})
    edited.code = DENY  # a draft saved after v1 was published
    edited.save()
    body = execute(alice).json()
    assert body["decision"] == "allow"
    assert body["context"]["version"] == "v1"
    assert [step["function_id"] for step in body["steps"]] == [edited.id]
    assert unreleased.id not in json.dumps(body)


def test_a_publish_is_live_for_the_very_next_run(alice: Persona) -> None:
    function = add_function(alice.tenant, "marks", MARKS % {"mark": "v1"})
    assert execute(alice).json()["context"]["version"] == "v1"
    release_code(function, MARKS % {"mark": "v2"})
    body = execute(alice).json()
    assert body["context"]["version"] == "v2"
    assert body["steps"][0]["version"] == 2


def test_a_sandbox_crash_is_answered_and_still_recorded(
    alice: Persona, monkeypatch: pytest.MonkeyPatch
) -> None:
    from apps.runtime.pool import Pool

    acquire = Pool._acquire

    def acquire_and_doom(pool: Pool, tenant_id: str | None) -> Any:
        # The worker process dies mid-run (as when the kernel's OOM killer picks it).
        worker, slot = acquire(pool, tenant_id)
        threading.Timer(0.3, worker.proc.kill).start()
        return worker, slot

    add_function(alice.tenant, "spins", SPINS)
    with monkeypatch.context() as patch:
        patch.setattr(Pool, "_acquire", acquire_and_doom)
        response = execute(alice)
    assert response.status_code == 200
    body = response.json()
    assert body["decision"] == "deny"
    assert body["error"]["code"] == "sandbox_crashed"
    assert body["steps"][0]["status"] == "error"
    assert "killed by SIGKILL" in body["steps"][0]["error"]["message"]
    run = Run.objects.get(id=body["run_id"])
    assert run.status == "error" and run.decision == "deny"
    # The service keeps serving after the crash.
    Run.objects.all().delete()
    add_function(alice.tenant, "fine", allow("fine"), trigger="PRE_AUTHENTICATION")
    assert execute(alice, "PRE_AUTHENTICATION").json()["decision"] == "allow"


def test_a_sandbox_that_cannot_answer_denies_and_records_the_run(
    alice: Persona, monkeypatch: pytest.MonkeyPatch
) -> None:
    import apps.runtime

    def unavailable(job: object) -> object:
        raise RuntimeError("no sandbox workers")

    monkeypatch.setattr(apps.runtime, "run_pipeline_metered", unavailable)
    add_function(alice.tenant, "any", allow("any"))
    body = execute(alice).json()
    assert body["decision"] == "deny"
    assert body["error"]["code"] == "sandbox_unavailable"
    assert Run.objects.get(id=body["run_id"]).status == "error"


def test_the_run_records_input_output_caller_and_search_columns(alice: Persona) -> None:
    function = add_function(alice.tenant, "tagger", allow("tagger"))
    body = execute(alice, REMOTE_ADDR="198.51.100.7").json()
    run = Run.objects.get(id=body["run_id"])
    assert run.tenant == alice.tenant and run.source == "api"
    assert run.input == payload()
    assert run.output["custom_data"] == {"plan": "free"}
    assert run.output["context"] == body["context"]
    assert run.caller == f"key:{alice.key[:11]}"
    assert run.client_ip == "198.51.100.7"
    assert (run.user_id, run.user_email) == ("u_1", "ann@example.com")
    assert f" {function.id} " in run.function_ids


def test_unusual_json_values_are_stored_and_answered_exactly(alice: Persona) -> None:
    # Non-ASCII text, the two characters that end a line in JS source, an integer beyond
    # 64 bits (encoded by the fallback path) and deep nesting, in and out of a run.
    user = {
        "id": "u_1",
        "name": "Zoë 李 \u2028\u2029 😀",
        "big": 2**70 + 1,  # no double is this integer: only an exact reading keeps it
        "nested": {"a": [1, 2.5, None, True, {"b": "c"}]},
    }
    body = execute(alice, body={"user": user, "context": {"ip": "203.0.113.9"}})
    raw = body.content
    assert b"\\u2028" in raw and b"\\u2029" in raw  # escaped on the wire, like DRF does
    answered = body.json()
    assert answered["user"] == user
    run = Run.objects.get(id=answered["run_id"])
    assert run.input["user"] == user and run.output["user"] == user
    listed = alice.api().get(f"/api/v1/runs/{run.id}").json()
    assert listed["input"]["user"] == user


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([1, 2], "non_field_errors"),
        ({"context": {}}, "user"),
        ({"user": "ann", "context": {}}, "user"),
        ({"user": {}, "context": []}, "context"),
        ({"user": {}}, "context"),
        ({"user": {}, "context": {}, "mode": "later"}, "mode"),
        ({"user": {}, "context": {}, "idempotency_key": ""}, "idempotency_key"),
        ({"user": {}, "context": {}, "idempotency_key": "k" * 201}, "idempotency_key"),
        ({"user": {}, "context": {}, "idempotency_key": 7}, "idempotency_key"),
        ({"user": {}, "context": {}, "ctx": {}}, "ctx"),
    ],
)
def test_a_bad_body_is_a_400_naming_the_field_and_records_nothing(
    alice: Persona, body: object, field: str
) -> None:
    add_function(alice.tenant, "any", allow("any"))
    error = assert_error(execute(alice, body=body), 400, "invalid_request")
    assert field in error["details"]["fields"]
    assert not Run.objects.exists()


DEEP_64 = "[" * 63 + "]" * 63  # with the user object around it: 64 levels


@pytest.mark.parametrize(
    ("user", "why"),
    [
        ('{"n": "a\\u0000b"}', "text may not contain U+0000 (at user.n)"),
        ('{"a\\u0000": 1}', "text may not contain U+0000 (at user, in a key)"),
        (
            '{"n": ["\\udc00"]}',
            "text must be valid Unicode, not an unpaired surrogate (at user.n.0)",
        ),
        ('{"n": "\\ud800x"}', "text must be valid Unicode, not an unpaired surrogate (at user.n)"),
        (
            '{"d": [' + DEEP_64 + "]}",
            "the document nests deeper than 65 levels (at user.d.0.0.0.0...)",
        ),
        (
            '{"d": ' + "[" * 3000 + "]" * 3000 + "}",
            "the document nests deeper than 65 levels (at user.d.0.0.0.0...)",
        ),
        ('{"n": 1e400}', "the number 1e400 is out of range"),
        ('{"n": -' + "9" * 400 + ".5}", "the number -9999999999999999999... is out of range"),
        ('{"n": NaN}', "NaN is not a JSON value"),
        ('{"n": ' + "9" * 5000 + "}", "a number has too many digits"),
        # Fewer digits than Python's own limit, but beyond a double: JavaScript reads Infinity.
        ('{"n": ' + "9" * 400 + "}", "a number has too many digits"),
        ('{"n": -Infinity}', "-Infinity is not a JSON value"),
    ],
)
def test_a_body_no_run_could_store_is_a_400_saying_why_and_records_nothing(
    alice: Persona, user: str, why: str
) -> None:
    add_function(alice.tenant, "any", allow("any"))
    response = alice.api().post(
        "/api/v1/pipelines/PRE_REGISTER/execute",
        '{"user": ' + user + ', "context": {}}',
        content_type="application/json",
    )
    error = assert_error(response, 400, "invalid_request")
    assert error["message"] == f"JSON parse error - {why}"
    assert not Run.objects.exists()


def test_escapes_that_look_unstorable_but_are_not_are_stored_exactly(alice: Persona) -> None:
    # A literal backslash before "u0000", a surrogate pair, 64 levels, a large finite number.
    body = (
        '{"user": {"id": "u", "text": "a\\\\u0000b", "smile": "\\ud83d\\ude00",'
        ' "deep": ' + DEEP_64 + ', "big": 1e300}, "context": {}}'
    )
    response = alice.api().post(
        "/api/v1/pipelines/PRE_REGISTER/execute", body, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    expected = json.loads(body)["user"]
    assert expected["text"] == "a\\u0000b" and expected["smile"] == "\U0001f600"
    assert response.json()["user"] == expected
    stored = Run.objects.get().input["user"]
    # PostgreSQL's jsonb keeps 1e300 as the integer it equals.
    assert float(stored.pop("big")) == expected.pop("big") == 1e300
    assert stored == expected


def test_a_body_that_is_not_json_is_a_400_and_records_nothing(alice: Persona) -> None:
    response = alice.api().post(
        "/api/v1/pipelines/PRE_REGISTER/execute", "{not json", content_type="application/json"
    )
    assert_error(response, 400, "invalid_request")
    assert not Run.objects.exists()


def test_a_300_kb_body_is_a_413_and_records_nothing(alice: Persona) -> None:
    body = json.dumps({"user": {"blob": "x" * (300 * 1024)}, "context": {}})
    response = alice.api().post(
        "/api/v1/pipelines/PRE_REGISTER/execute", body, content_type="application/json"
    )
    assert_error(response, 413, "payload_too_large")
    assert not Run.objects.exists()


def test_a_wrong_content_type_is_a_415_and_records_nothing(alice: Persona) -> None:
    response = alice.api().post(
        "/api/v1/pipelines/PRE_REGISTER/execute", "user=ann", content_type="text/plain"
    )
    assert_error(response, 415, "unsupported_media_type")
    assert not Run.objects.exists()


def test_an_unknown_trigger_is_a_404(alice: Persona) -> None:
    assert_error(execute(alice, "PRE_NOTHING"), 404, "unknown_trigger")
    assert not Run.objects.exists()


def test_execute_needs_the_execute_scope(alice: Persona) -> None:
    from apps.core.actor import Actor
    from apps.tenants.services import api_key_create

    _, key = api_key_create(
        tenant=alice.tenant, name="reader", scopes=["runs:read"], actor=Actor.system()
    )
    client = alice.api()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    response = client.post("/api/v1/pipelines/PRE_REGISTER/execute", payload(), format="json")
    assert_error(response, 403, "permission_denied")
    assert not Run.objects.exists()


def test_a_viewer_session_cannot_execute(bob: Persona) -> None:
    response = csrf_session(bob).post(
        "/api/v1/pipelines/PRE_REGISTER/execute", payload(), format="json"
    )
    assert_error(response, 403, "permission_denied")
    assert not Run.objects.exists()


def test_charlies_key_runs_globex_pipeline_never_acmes(alice: Persona, charlie: Persona) -> None:
    acme_function = add_function(alice.tenant, "acme-deny", DENY)
    globex_function = add_function(charlie.tenant, "globex-allow", allow("globex"))
    body = execute(charlie).json()
    assert body["decision"] == "allow"
    assert [step["function_id"] for step in body["steps"]] == [globex_function.id]
    assert acme_function.id not in json.dumps(body)
    run = Run.objects.get(id=body["run_id"])
    assert run.tenant == charlie.tenant
    assert not Run.objects.filter(tenant=alice.tenant).exists()
