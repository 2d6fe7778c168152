"""The pipelines page, the function editor and the test-payload endpoint respect tenants
and roles (no browser: the Playwright tests in tests/browser drive the pages)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from apps.pipelines.models import Function, Pipeline
from apps.tenants.models import Tenant
from tests.conftest import Persona, assert_error

pytestmark = pytest.mark.django_db

CODE = "async function pipe(user, context, callback) {\n  callback(null, user, context);\n}\n"


def login(persona: Persona) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(persona.user)
    return client


def make_function(
    tenant: Tenant, name: str, trigger: str = "PRE_REGISTER", **fields: Any
) -> Function:
    pipeline, _ = Pipeline.objects.get_or_create(tenant=tenant, trigger=trigger)
    fields.setdefault("position", Function.objects.filter(pipeline=pipeline).count())
    return Function.objects.create(tenant=tenant, pipeline=pipeline, name=name, code=CODE, **fields)


def model_or_skip(module: str, name: str) -> Any:
    """Models of areas built alongside this one (runs, env)."""
    import importlib

    model = getattr(importlib.import_module(module), name, None)
    if model is None:
        pytest.skip(f"{module}.{name} does not exist yet")
    return model


def csrf_post(client: Client, url: str, payload: Any) -> Any:
    client.get("/admin/pipelines/")  # sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    body = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
    return client.post(url, body, content_type="application/json", HTTP_X_CSRFTOKEN=token)


def editor_data(response: Any) -> dict[str, Any]:
    html = response.content.decode()
    start = html.index('<script id="editor-data" type="application/json">') + len(
        '<script id="editor-data" type="application/json">'
    )
    return json.loads(html[start : html.index("</script>", start)])


# --- pipelines page ------------------------------------------------------------------


def test_alice_sees_every_trigger_with_her_functions_in_order(alice: Persona) -> None:
    second = make_function(alice.tenant, "second-check", position=5)
    first = make_function(alice.tenant, "first-check", position=1)
    response = login(alice).get("/admin/pipelines/")
    assert response.status_code == 200
    html = response.content.decode()
    for trigger in ("PRE_REGISTER", "POST_MFA_VERIFY", "PRE_OIDC_ACCESS_TOKEN_ISSUED"):
        assert trigger in html
    assert html.index(first.id) < html.index(second.id)
    assert "New function" in html and 'draggable="true"' in html
    assert f"/admin/functions/{first.id}/" in html


def test_bob_the_viewer_sees_the_pipelines_without_any_write_control(
    alice: Persona, bob: Persona
) -> None:
    make_function(alice.tenant, "domain-check")
    html = login(bob).get("/admin/pipelines/").content.decode()
    assert "domain-check" in html
    assert "New function" not in html
    assert "draggable" not in html and "enable-toggle" not in html and "move-up" not in html


def test_charlie_does_not_see_acmes_functions_on_his_pipelines_page(
    alice: Persona, charlie: Persona
) -> None:
    acme_function = make_function(alice.tenant, "acme-secret-rule")
    html = login(charlie).get("/admin/pipelines/").content.decode()
    assert "acme-secret-rule" not in html and acme_function.id not in html


def test_the_pipelines_page_shows_each_functions_last_run_outcome(alice: Persona) -> None:
    from django.utils import timezone

    Run = model_or_skip("apps.runs.models", "Run")
    function = make_function(alice.tenant, "domain-check")
    never_ran = make_function(alice.tenant, "never-ran")
    Run.objects.create(
        tenant=alice.tenant,
        trigger="PRE_REGISTER",
        decision="deny",
        status="denied",
        steps=[{"function_id": function.id, "name": function.name, "status": "denied"}],
        caller="test",
        created_at=timezone.now(),
    )
    Run.objects.create(  # a later test run does not count
        tenant=alice.tenant,
        trigger="PRE_REGISTER",
        source="test",
        decision="allow",
        status="ok",
        steps=[{"function_id": function.id, "name": function.name, "status": "ok"}],
        caller="user:alice",
        created_at=timezone.now(),
    )
    html = login(alice).get("/admin/pipelines/").content.decode()
    row = html[html.index(f'data-function-id="{function.id}"') :]
    assert "last run: denied" in row[: row.index("</li>")]
    other = html[html.index(f'data-function-id="{never_ran.id}"') :]
    assert "no production runs yet" in other[: other.index("</li>")]


def test_anonymous_visitors_are_sent_to_the_login_page(alice: Persona) -> None:
    function = make_function(alice.tenant, "domain-check")
    for url in ("/admin/pipelines/", f"/admin/functions/{function.id}/", "/admin/functions/new/"):
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")


def test_the_admin_index_links_to_the_pipelines_page(alice: Persona) -> None:
    assert b'href="/admin/pipelines/"' in login(alice).get("/admin/").content


# --- editor ----------------------------------------------------------------------------


def test_alice_opens_the_editor_with_her_function_env_names_and_write_rights(
    alice: Persona,
) -> None:
    EnvVar = model_or_skip("apps.secrets.models", "EnvVar")
    EnvVar.objects.create(tenant=alice.tenant, name="ALLOWED_DOMAINS", value="example.com")
    function = make_function(
        alice.tenant, "domain-check", test_payload={"user": {"a": 1}, "context": {}}
    )
    response = login(alice).get(f"/admin/functions/{function.id}/")
    assert response.status_code == 200
    data = editor_data(response)
    assert data["function"]["id"] == function.id
    assert data["function"]["code"] == CODE
    assert data["function"]["trigger"] == "PRE_REGISTER"
    assert data["function"]["test_payload"] == {"user": {"a": 1}, "context": {}}
    assert data["env_names"] == ["ALLOWED_DOMAINS"]
    assert data["can_write"] is True
    html = response.content.decode()
    assert 'id="save-button"' in html and 'id="publish-button"' in html
    assert "vendor/monaco/monaco.js" in html


def test_every_script_on_the_editor_page_carries_the_csp_nonce(alice: Persona) -> None:
    function = make_function(alice.tenant, "domain-check")
    response = login(alice).get(f"/admin/functions/{function.id}/")
    nonce = response.context["csp_nonce"]
    html = response.content.decode()
    for src in ("vendor/monaco/monaco.js", "js/test-panel.js", "js/editor.js"):
        tag_start = html.index(src)
        tag = html[html.rindex("<script", 0, tag_start) : html.index(">", tag_start)]
        assert f'nonce="{nonce}"' in tag
    assert f"'nonce-{nonce}'" in response["Content-Security-Policy"]


def test_bob_the_viewer_gets_a_read_only_editor_without_write_buttons(
    alice: Persona, bob: Persona
) -> None:
    function = make_function(alice.tenant, "domain-check")
    response = login(bob).get(f"/admin/functions/{function.id}/")
    assert response.status_code == 200
    assert editor_data(response)["can_write"] is False
    html = response.content.decode()
    assert "save-button" not in html and "publish-button" not in html and "run-draft" not in html
    assert "read-only" in html


def test_charlie_gets_a_404_for_acmes_editor_url(alice: Persona, charlie: Persona) -> None:
    function = make_function(alice.tenant, "domain-check")
    response = login(charlie).get(f"/admin/functions/{function.id}/")
    assert response.status_code == 404
    assert b"domain-check" not in response.content


def test_an_unknown_function_id_is_a_404(alice: Persona) -> None:
    assert login(alice).get("/admin/functions/fn_nope/").status_code == 404


def test_the_replay_query_is_handed_to_the_test_panel(alice: Persona) -> None:
    function = make_function(alice.tenant, "domain-check")
    response = login(alice).get(f"/admin/functions/{function.id}/?replay=run_01ABC")
    assert editor_data(response)["replay_run_id"] == "run_01ABC"


def test_script_looking_function_names_are_escaped_in_the_page(alice: Persona) -> None:
    function = make_function(alice.tenant, "</script><script>alert(1)</script>")
    html = login(alice).get(f"/admin/functions/{function.id}/").content.decode()
    assert "<script>alert(1)" not in html


# --- new function page ---------------------------------------------------------------


def test_alice_gets_the_new_function_form_with_the_trigger_preselected(alice: Persona) -> None:
    response = login(alice).get("/admin/functions/new/?trigger=PRE_OIDC_ID_TOKEN_ISSUED")
    assert response.status_code == 200
    assert b'value="PRE_OIDC_ID_TOKEN_ISSUED" data-blocking="true" selected' in response.content


def test_bob_the_viewer_cannot_open_the_new_function_form(bob: Persona) -> None:
    assert login(bob).get("/admin/functions/new/?trigger=PRE_REGISTER").status_code == 403


def test_an_unknown_trigger_on_the_new_function_form_is_a_404(alice: Persona) -> None:
    assert login(alice).get("/admin/functions/new/?trigger=NOPE").status_code == 404


# --- test payload ----------------------------------------------------------------------


def test_alice_keeps_the_last_test_payload_without_touching_the_draft(alice: Persona) -> None:
    function = make_function(alice.tenant, "domain-check")
    updated_at = function.updated_at
    payload = {"user": {"email": "jane@example.com"}, "context": {"ip": "203.0.113.7"}}
    response = csrf_post(login(alice), f"/admin/functions/{function.id}/test-payload/", payload)
    assert response.status_code == 200
    function.refresh_from_db()
    assert function.test_payload == payload
    assert function.code == CODE and function.updated_at == updated_at


def test_the_test_payload_needs_the_csrf_token(alice: Persona) -> None:
    function = make_function(alice.tenant, "domain-check")
    response = login(alice).post(
        f"/admin/functions/{function.id}/test-payload/",
        json.dumps({"user": {}, "context": {}}),
        content_type="application/json",
    )
    assert response.status_code == 403
    function.refresh_from_db()
    assert function.test_payload == {}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"not json", "body"),
        (b"[1, 2]", "body"),
        (json.dumps({"user": "jane", "context": {}}), "user"),
        (json.dumps({"user": {}}), "context"),
        (json.dumps({"user": {"blob": "x" * 70_000}, "context": {}}), "body"),
        (b'{"user": {"name": "a\\u0000"}, "context": {}}', "body"),
    ],
)
def test_a_malformed_test_payload_is_refused_naming_the_field(
    alice: Persona, body: Any, field: str
) -> None:
    function = make_function(alice.tenant, "domain-check", test_payload={"user": {}, "context": {}})
    response = csrf_post(login(alice), f"/admin/functions/{function.id}/test-payload/", body)
    error = assert_error(response, 400, "invalid_request")
    assert error["details"]["field"] == field
    function.refresh_from_db()
    assert function.test_payload == {"user": {}, "context": {}}


def test_bob_the_viewer_cannot_store_a_test_payload(alice: Persona, bob: Persona) -> None:
    function = make_function(alice.tenant, "domain-check")
    payload = {"user": {}, "context": {}}
    response = csrf_post(login(bob), f"/admin/functions/{function.id}/test-payload/", payload)
    assert_error(response, 403, "permission_denied")
    function.refresh_from_db()
    assert function.test_payload == {}


def test_charlie_cannot_store_a_test_payload_on_acmes_function(
    alice: Persona, charlie: Persona
) -> None:
    function = make_function(alice.tenant, "domain-check")
    payload = {"user": {"x": 1}, "context": {}}
    response = csrf_post(login(charlie), f"/admin/functions/{function.id}/test-payload/", payload)
    assert_error(response, 404, "not_found")
    function.refresh_from_db()
    assert function.test_payload == {}


# --- login form ------------------------------------------------------------------------


def test_a_member_without_the_staff_flag_logs_in_through_the_form(alice: Persona) -> None:
    assert not alice.user.is_staff
    response = Client().post(
        "/admin/login/?next=/admin/pipelines/",
        {"username": "alice", "password": "correct horse 9", "next": "/admin/pipelines/"},
    )
    assert response.status_code == 302 and response["Location"] == "/admin/pipelines/"


def test_a_user_without_membership_is_refused_by_the_login_form(django_user_model: Any) -> None:
    django_user_model.objects.create_user(username="stranger", password="correct horse 9")
    response = Client().post(
        "/admin/login/", {"username": "stranger", "password": "correct horse 9"}
    )
    assert response.status_code == 200
    assert b"console member" in response.content
    assert "_auth_user_id" not in response.wsgi_request.session


@pytest.mark.parametrize(
    ("code", "label"),
    [
        (CODE, "Authing pipe"),
        (
            "function (user, context, callback) {\n  callback(null, user, context);\n}\n",
            "Auth0 Rule",
        ),
        ("exports.onExecutePostLogin = async (event, api) => {};\n", "Auth0 Action"),
    ],
)
def test_the_editor_header_shows_the_flavour_of_the_saved_draft(
    alice: Persona, code: str, label: str
) -> None:
    function = make_function(alice.tenant, "flavoured")
    function.code = code
    function.save(update_fields=["code"])
    html = login(alice).get(f"/admin/functions/{function.id}/").content.decode()
    badge = html[html.index('id="flavour-badge"') :]
    assert badge[badge.index(">") + 1 : badge.index("</span>")] == label
    if label == "Auth0 Action":
        assert "onExecutePostLogin runs at POST_AUTHENTICATION" in badge
