"""Security gates fail closed by default: new synchronous functions on blocking triggers
deny on timeout unless their creator says otherwise, and a test run whose step timed out
while the run still allowed carries a warning."""

from __future__ import annotations

from typing import Any

import pytest

from apps.audit.models import AuditEvent, AuditKind
from tests.conftest import Persona, assert_error
from tests.runs.helpers import SPINS, add_function, allow, csrf_session, payload

pytestmark = pytest.mark.django_db

CODE = "async function pipe(user, context, callback) {\n  callback(null, user, context);\n}\n"


def create(persona: Persona, trigger: str, client: Any = None, **extra: Any) -> dict[str, Any]:
    body = {"trigger": trigger, "name": f"gate-{len(extra)}", "code": CODE, **extra}
    response = (client or persona.api()).post("/api/v1/functions", body, format="json")
    assert response.status_code == 201, response.content
    return dict(response.json())


@pytest.mark.parametrize(
    ("trigger", "expected"),
    [
        ("PRE_AUTHENTICATION", True),
        ("PRE_REGISTER", True),
        ("PRE_OIDC_ACCESS_TOKEN_ISSUED", True),
        ("PRE_MFA_VERIFY", True),
        ("POST_REGISTER", False),
        ("POST_AUTHENTICATION", False),
        ("POST_MFA_VERIFY", False),
    ],
)
def test_new_functions_deny_on_timeout_on_blocking_triggers(
    alice: Persona, trigger: str, expected: bool
) -> None:
    assert create(alice, trigger)["terminate_on_timeout"] is expected


@pytest.mark.parametrize(
    ("trigger", "given"),
    [("PRE_AUTHENTICATION", False), ("POST_REGISTER", True)],
)
def test_an_explicit_choice_is_kept(alice: Persona, trigger: str, given: bool) -> None:
    assert create(alice, trigger, terminate_on_timeout=given)["terminate_on_timeout"] is given


def test_an_async_function_on_a_blocking_trigger_is_not_a_gate(alice: Persona) -> None:
    assert create(alice, "PRE_REGISTER", is_async=True)["terminate_on_timeout"] is False


def test_a_console_session_gets_the_same_default(alice: Persona) -> None:
    body = create(alice, "PRE_AUTHENTICATION", client=csrf_session(alice))
    assert body["terminate_on_timeout"] is True


@pytest.mark.parametrize(
    ("slug", "trigger", "expected"),
    [
        ("email-domain-allow-list", "PRE_AUTHENTICATION", True),
        ("slack-webhook-notification", "POST_REGISTER", False),
    ],
)
def test_a_template_instantiated_on_a_blocking_trigger_is_a_gate(
    alice: Persona, slug: str, trigger: str, expected: bool
) -> None:
    url = f"/api/v1/templates/{slug}/instantiate"
    response = alice.api().post(url, {"trigger": trigger}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["terminate_on_timeout"] is expected


def test_the_flag_is_visible_and_switchable_and_the_switch_is_audited(alice: Persona) -> None:
    function = create(alice, "PRE_AUTHENTICATION")
    url = f"/api/v1/functions/{function['id']}"
    assert alice.api().get(url).json()["terminate_on_timeout"] is True
    response = alice.api().patch(url, {"terminate_on_timeout": False}, format="json")
    assert response.status_code == 200 and response.json()["terminate_on_timeout"] is False
    event = AuditEvent.objects.get(object_id=function["id"], kind=AuditKind.FUNCTION_SETTINGS)
    assert event.details["changes"]["terminate_on_timeout"] == {"from": True, "to": False}


def test_the_flag_must_be_a_boolean(alice: Persona) -> None:
    body = {"trigger": "PRE_REGISTER", "name": "x", "code": CODE, "terminate_on_timeout": "yes"}
    error = assert_error(
        alice.api().post("/api/v1/functions", body, format="json"), 400, "invalid_request"
    )
    assert "terminate_on_timeout" in error["details"]["fields"]


def test_the_schema_documents_the_default(db: None) -> None:
    from rest_framework.test import APIClient

    schema = APIClient().get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    field = schema["components"]["schemas"]["FunctionCreate"]["properties"]["terminate_on_timeout"]
    assert "blocking" in field["description"]


# --- The test endpoints warn when a gate failed open --------------------------------------


def spinning(persona: Persona, trigger: str = "PRE_AUTHENTICATION", **fields: Any) -> Any:
    fields.setdefault("timeout_ms", 100)
    fields.setdefault("publish", False)
    return add_function(persona.tenant, "spinner", SPINS, trigger=trigger, **fields)


def test_a_function_test_warns_when_a_timeout_let_the_run_through(alice: Persona) -> None:
    function = spinning(alice)
    body = alice.api().post(f"/api/v1/functions/{function.id}/test", payload(), format="json")
    result = body.json()
    assert result["decision"] == "allow" and result["steps"][0]["status"] == "timeout"
    [warning] = result["warnings"]
    assert warning["code"] == "timeout_allowed"
    assert (warning["function_id"], warning["name"]) == (function.id, "spinner")
    assert "terminate_on_timeout" in warning["message"]


def test_a_pipeline_test_warns_about_each_gate_that_failed_open(alice: Persona) -> None:
    spinner = spinning(alice)
    add_function(alice.tenant, "after", allow("after"), trigger="PRE_AUTHENTICATION", publish=False)
    url = "/api/v1/pipelines/PRE_AUTHENTICATION/test"
    result = alice.api().post(url, payload(), format="json").json()
    assert result["decision"] == "allow"
    assert [w["function_id"] for w in result["warnings"]] == [spinner.id]


def test_no_warning_when_the_gate_denies(alice: Persona) -> None:
    function = spinning(alice, terminate_on_timeout=True)
    result = (
        alice.api().post(f"/api/v1/functions/{function.id}/test", payload(), format="json").json()
    )
    assert result["decision"] == "deny" and result["error"]["code"] == "function_timeout"
    assert result["warnings"] == []


def test_no_warning_when_nothing_timed_out(alice: Persona) -> None:
    function = add_function(alice.tenant, "fine", allow("fine"), trigger="PRE_AUTHENTICATION")
    result = (
        alice.api().post(f"/api/v1/functions/{function.id}/test", payload(), format="json").json()
    )
    assert result["decision"] == "allow" and result["warnings"] == []


def test_an_advisory_trigger_warns_without_the_gate_advice(alice: Persona) -> None:
    function = spinning(alice, trigger="POST_AUTHENTICATION")
    result = (
        alice.api().post(f"/api/v1/functions/{function.id}/test", payload(), format="json").json()
    )
    [warning] = result["warnings"]
    assert warning["code"] == "timeout_allowed" and "blocking" not in warning["message"]


def test_the_execute_response_keeps_the_spec_shape(alice: Persona) -> None:
    from tests.runs.helpers import RESPONSE_KEYS, execute

    spinning(alice, publish=True)
    body = execute(alice, "PRE_AUTHENTICATION").json()
    assert body["steps"][0]["status"] == "timeout"
    assert set(body) == RESPONSE_KEYS
