"""GET /api/v1/templates, GET /api/v1/templates/{slug}, POST .../instantiate."""

from __future__ import annotations

from typing import Any

import pytest
from django.middleware.csrf import _get_new_csrf_string
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent, AuditKind
from apps.core.actor import Actor
from apps.gallery.loader import load_all
from apps.pipelines.models import Function
from tests.conftest import Persona, assert_error

pytestmark = pytest.mark.django_db
ALL = {spec.slug for spec in load_all()}


def with_csrf(persona: Persona) -> APIClient:
    client = persona.session()
    token = _get_new_csrf_string()
    client.cookies["csrftoken"] = token
    client.credentials(HTTP_X_CSRFTOKEN=token)
    return client


def slugs(response: Any) -> set[str]:
    assert response.status_code == 200, response.content
    return {item["slug"] for item in response.json()["results"]}


def instantiate(client: APIClient, slug: str, **body: Any) -> Any:
    return client.post(f"/api/v1/templates/{slug}/instantiate", body, format="json")


def test_the_gallery_lists_every_template_with_its_summary(alice: Persona) -> None:
    response = alice.api().get("/api/v1/templates")
    assert slugs(response) == ALL and len(ALL) >= 25
    body = response.json()
    assert body["next"] is None
    first = body["results"][0]
    assert set(first) == {
        "slug",
        "title",
        "description",
        "category",
        "category_label",
        "triggers",
        "env",
        "is_async",
        "uses_http",
    }


def test_the_trigger_filter_keeps_only_compatible_templates(alice: Persona) -> None:
    found = slugs(alice.api().get("/api/v1/templates", {"trigger": "PRE_OIDC_ID_TOKEN_ISSUED"}))
    assert {"id-token-custom-claims", "roles-groups-id-token-claims", "org-list-claims"} <= found
    assert "access-token-custom-claims" not in found and "ip-allow-list" not in found
    expected = {s.slug for s in load_all() if "PRE_OIDC_ID_TOKEN_ISSUED" in s.triggers}
    assert found == expected


def test_the_category_filter_and_search_combine(alice: Persona) -> None:
    client = alice.api()
    notifications = slugs(client.get("/api/v1/templates", {"category": "notifications"}))
    assert notifications == {
        "slack-webhook-notification",
        "lark-webhook-notification",
        "dingtalk-webhook-notification",
        "generic-webhook",
        "auth0-new-user-webhook",
    }
    assert slugs(client.get("/api/v1/templates", {"category": "notifications", "q": "lark"})) == {
        "lark-webhook-notification"
    }
    assert slugs(client.get("/api/v1/templates", {"q": "DISPOSABLE"})) == {"disposable-email-block"}
    assert slugs(client.get("/api/v1/templates", {"q": "no such words"})) == set()


def test_blank_filters_mean_any(alice: Persona) -> None:
    assert slugs(alice.api().get("/api/v1/templates", {"trigger": "", "category": ""})) == ALL


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"trigger": "PRE_LUNCH"}, "trigger"),
        ({"category": "misc"}, "category"),
        ({"q": "x" * 201}, "q"),
    ],
)
def test_a_bad_filter_is_refused_naming_the_field(
    alice: Persona, params: dict[str, str], field: str
) -> None:
    error = assert_error(alice.api().get("/api/v1/templates", params), 400, "invalid_request")
    assert field in error["details"]["fields"]


def test_a_template_detail_has_code_sample_and_env(alice: Persona) -> None:
    body = alice.api().get("/api/v1/templates/ip-risk-threshold").json()
    assert (
        body["code"].startswith("/**")
        and "async function pipe(user, context, callback)" in body["code"]
    )
    assert body["sample"]["context"]["ip"] == "203.0.113.7"
    assert [e["name"] for e in body["env"] if e["required"]] == ["RISK_API_URL", "RISK_API_TOKEN"]
    assert body["outcomes"] and body["uses_http"] is True


def test_an_unknown_template_is_not_found(alice: Persona) -> None:
    assert_error(alice.api().get("/api/v1/templates/nope"), 404, "not_found")
    assert_error(instantiate(alice.api(), "nope", trigger="PRE_REGISTER"), 404, "not_found")


def test_viewers_may_browse_the_gallery(bob: Persona) -> None:
    assert slugs(bob.session().get("/api/v1/templates")) == ALL
    assert bob.session().get("/api/v1/templates/ip-allow-list").status_code == 200


def test_anonymous_callers_cannot_browse(db: None) -> None:
    assert_error(APIClient().get("/api/v1/templates"), 401, "authentication_failed")


def test_instantiate_creates_a_draft_that_is_not_live(alice: Persona) -> None:
    response = instantiate(alice.api(), "email-domain-allow-list", trigger="PRE_AUTHENTICATION")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id"].startswith("fn_") and body["trigger"] == "PRE_AUTHENTICATION"
    assert body["name"] == "email-domain-allow-list"
    assert body["live_version"] is None and body["has_unpublished_changes"] is True
    assert body["missing_env"] == []
    function = Function.objects.get(pk=body["id"])
    assert function.tenant == alice.tenant and function.live_release is None
    spec = next(s for s in load_all() if s.slug == "email-domain-allow-list")
    assert function.code == spec.code
    assert AuditEvent.objects.filter(
        tenant=alice.tenant, kind=AuditKind.FUNCTION_CREATED, object_id=body["id"]
    ).exists()


def test_instantiate_reports_the_required_env_not_yet_set(alice: Persona) -> None:
    from apps.secrets.services import env_set

    env_set(
        tenant=alice.tenant,
        name="RISK_API_URL",
        value="https://risk.example",
        secret=False,
        actor=Actor.system(),
    )
    body = instantiate(alice.api(), "ip-risk-threshold", trigger="PRE_AUTHENTICATION").json()
    assert body["missing_env"] == ["RISK_API_TOKEN"]


def test_a_notification_template_becomes_an_async_function(alice: Persona) -> None:
    body = instantiate(alice.api(), "slack-webhook-notification", trigger="POST_REGISTER").json()
    assert body["is_async"] is True and body["missing_env"] == ["SLACK_WEBHOOK_URL"]


def test_a_single_trigger_template_needs_no_trigger_and_names_do_not_clash(
    alice: Persona,
) -> None:
    client = alice.api()
    first = instantiate(client, "org-list-claims").json()
    second = instantiate(client, "org-list-claims").json()
    assert first["trigger"] == second["trigger"] == "PRE_OIDC_ID_TOKEN_ISSUED"
    assert (first["name"], second["name"]) == ("org-list-claims", "org-list-claims-2")


def test_an_explicit_name_is_used_and_a_taken_one_is_a_conflict(alice: Persona) -> None:
    client = alice.api()
    body = instantiate(client, "ip-allow-list", trigger="PRE_REGISTER", name="office only").json()
    assert body["name"] == "office only"
    again = instantiate(client, "ip-allow-list", trigger="PRE_REGISTER", name="office only")
    assert_error(again, 409, "conflict")


def test_a_trigger_the_template_does_not_support_is_refused(alice: Persona) -> None:
    error = assert_error(
        instantiate(alice.api(), "ip-allow-list", trigger="PRE_OIDC_ID_TOKEN_ISSUED"),
        400,
        "invalid_request",
    )
    assert error["details"]["field"] == "trigger"
    assert "PRE_AUTHENTICATION" in error["details"]["valid"]
    assert not Function.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "trigger"),
        ({"trigger": "PRE_LUNCH"}, "trigger"),
        ({"trigger": "PRE_REGISTER", "name": 5}, "name"),
        ({"trigger": "PRE_REGISTER", "name": ""}, "name"),
        ({"trigger": "PRE_REGISTER", "colour": "red"}, "colour"),
    ],
)
def test_bad_instantiate_bodies_are_refused_naming_the_field(
    alice: Persona, body: dict[str, Any], field: str
) -> None:
    error = assert_error(instantiate(alice.api(), "ip-allow-list", **body), 400, "invalid_request")
    assert field in error["details"].get("fields", {}) or error["details"].get("field") == field
    assert not Function.objects.exists()


def test_a_non_object_body_is_refused(alice: Persona) -> None:
    response = alice.api().post(
        "/api/v1/templates/ip-allow-list/instantiate", "[1]", content_type="application/json"
    )
    assert_error(response, 400, "invalid_request")


def test_charlie_instantiates_into_globex_never_acme(alice: Persona, charlie: Persona) -> None:
    for client in (charlie.api(), with_csrf(charlie)):
        response = instantiate(client, "require-verified-email", trigger="PRE_AUTHENTICATION")
        assert response.status_code == 201, response.content
    assert Function.objects.filter(tenant=charlie.tenant).count() == 2
    assert not Function.objects.filter(tenant=alice.tenant).exists()
    own = instantiate(alice.api(), "require-verified-email", trigger="PRE_AUTHENTICATION").json()
    assert own["name"] == "require-verified-email"  # globex's names do not clash with acme's


def test_bob_cannot_instantiate(bob: Persona) -> None:
    response = instantiate(with_csrf(bob), "ip-allow-list", trigger="PRE_REGISTER")
    assert_error(response, 403, "permission_denied")
    assert not Function.objects.exists()


def test_a_developer_session_instantiates_with_csrf(dave: Persona) -> None:
    response = instantiate(with_csrf(dave), "ip-allow-list", trigger="PRE_REGISTER")
    assert response.status_code == 201, response.content


def test_a_key_without_manage_scope_cannot_browse_or_instantiate(alice: Persona) -> None:
    from apps.tenants.services import api_key_create

    _, raw = api_key_create(
        tenant=alice.tenant, name="exec", scopes=["execute"], actor=Actor.system()
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert_error(client.get("/api/v1/templates"), 403, "permission_denied")
    assert_error(
        instantiate(client, "ip-allow-list", trigger="PRE_REGISTER"), 403, "permission_denied"
    )


def test_a_template_detail_says_its_flavour(alice: Persona) -> None:
    pipe = alice.api().get("/api/v1/templates/ip-risk-threshold").json()
    action = alice.api().get("/api/v1/templates/auth0-require-verified-email").json()
    assert (pipe["flavour"], action["flavour"]) == ("pipe", "auth0_action")
    assert action["code"].count("exports.onExecutePostLogin = async (event, api) =>") == 1
