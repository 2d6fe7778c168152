"""Supabase Auth's Before User Created and Custom Access Token hooks, signed with the
standardwebhooks library as Supabase Auth signs them."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from apps.hooks.models import HookDelivery, HookKind
from apps.runs.models import Run
from tests.conftest import Persona, assert_error
from tests.hooks.helpers import (
    BEFORE_USER_CREATED,
    CUSTOM_ACCESS_TOKEN,
    before_user_created_payload,
    custom_access_token_payload,
    deliver,
    give_secret,
    new_secret,
    signed_headers,
)
from tests.runs.helpers import DENY, add_function, allow

pytestmark = pytest.mark.django_db

SIGNUP = HookKind.SUPABASE_BEFORE_USER_CREATED
TOKEN = HookKind.SUPABASE_CUSTOM_ACCESS_TOKEN
CLAIMS = """
async function pipe(user, context, callback) {
  user.addAccessToken("plan", context.authenticationMethod === "anonymous" ? "trial" : "paid");
  user.removeAccessToken("user_metadata");
  user.removeAccessToken("email");
  callback(null, user, context);
}
"""


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()


def test_an_allowed_signup_answers_an_empty_object_and_is_recorded(
    alice: Persona, anonymous: APIClient
) -> None:
    add_function(alice.tenant, "tagger", allow("tagger"))
    secret = give_secret(alice.tenant, SIGNUP)
    response = deliver(
        anonymous, BEFORE_USER_CREATED.format(slug="acme"), secret, before_user_created_payload()
    )
    assert response.status_code == 200, response.content
    assert response.json() == {}
    run = Run.objects.get()
    assert (run.trigger, run.decision, run.source) == ("PRE_REGISTER", "allow", "api")
    assert run.caller == "hook:supabase"
    assert run.input["user"]["email"] == "valid.email@supabase.com"
    assert run.input["context"]["ip"] == "127.0.0.1"
    assert run.input["context"]["provider"] == "email"


def test_a_refused_signup_answers_supabases_error_object(
    alice: Persona, anonymous: APIClient
) -> None:
    add_function(alice.tenant, "domains", DENY)
    secret = give_secret(alice.tenant, SIGNUP)
    response = deliver(
        anonymous, BEFORE_USER_CREATED.format(slug="acme"), secret, before_user_created_payload()
    )
    # Supabase Auth passes this on to the person signing up only with a 200.
    assert response.status_code == 200
    assert response.json() == {
        "error": {"http_code": 403, "message": "Only example.com addresses may register"}
    }
    assert Run.objects.get().decision == "deny"


def test_the_access_token_gets_the_pipelines_claims_but_keeps_required_ones(
    alice: Persona, anonymous: APIClient
) -> None:
    add_function(alice.tenant, "claims", CLAIMS, trigger="PRE_OIDC_ACCESS_TOKEN_ISSUED")
    secret = give_secret(alice.tenant, TOKEN)
    payload = custom_access_token_payload()
    response = deliver(anonymous, CUSTOM_ACCESS_TOKEN.format(slug="acme"), secret, payload)
    assert response.status_code == 200, response.content
    expected = {**payload["claims"], "plan": "trial"}
    del expected["user_metadata"]
    assert response.json() == {"claims": expected}  # email is required by Supabase: kept
    run = Run.objects.get()
    assert run.trigger == "PRE_OIDC_ACCESS_TOKEN_ISSUED" and run.caller == "hook:supabase"
    assert run.input["user"]["id"] == payload["user_id"]


def test_a_refused_token_answers_supabases_error_object(
    alice: Persona, anonymous: APIClient
) -> None:
    add_function(alice.tenant, "gate", DENY, trigger="PRE_OIDC_ACCESS_TOKEN_ISSUED")
    secret = give_secret(alice.tenant, TOKEN)
    response = deliver(
        anonymous, CUSTOM_ACCESS_TOKEN.format(slug="acme"), secret, custom_access_token_payload()
    )
    assert response.status_code == 200
    assert response.json()["error"]["http_code"] == 403


def test_an_empty_pipeline_passes_the_claims_through(alice: Persona, anonymous: APIClient) -> None:
    secret = give_secret(alice.tenant, TOKEN)
    payload = custom_access_token_payload()
    response = deliver(anonymous, CUSTOM_ACCESS_TOKEN.format(slug="acme"), secret, payload)
    assert response.json() == {"claims": payload["claims"]}


def test_a_wrong_secret_is_refused_and_runs_nothing(alice: Persona, anonymous: APIClient) -> None:
    give_secret(alice.tenant, SIGNUP)
    response = deliver(
        anonymous,
        BEFORE_USER_CREATED.format(slug="acme"),
        new_secret(),
        before_user_created_payload(),
    )
    error = assert_error(response, 401, "authentication_failed")
    assert "signature" in error["message"]
    assert not Run.objects.exists()


def test_one_hooks_secret_does_not_sign_the_other_hook(
    alice: Persona, anonymous: APIClient
) -> None:
    signup_secret = give_secret(alice.tenant, SIGNUP)
    give_secret(alice.tenant, TOKEN)
    response = deliver(
        anonymous,
        CUSTOM_ACCESS_TOKEN.format(slug="acme"),
        signup_secret,
        custom_access_token_payload(),
    )
    assert_error(response, 401, "authentication_failed")


@pytest.mark.parametrize("age", [timedelta(minutes=6), timedelta(minutes=-6)])
def test_a_stale_or_future_timestamp_is_refused(
    alice: Persona, anonymous: APIClient, age: timedelta
) -> None:
    secret = give_secret(alice.tenant, SIGNUP)
    response = deliver(
        anonymous,
        BEFORE_USER_CREATED.format(slug="acme"),
        secret,
        before_user_created_payload(),
        age=age,
    )
    error = assert_error(response, 401, "authentication_failed")
    assert "timestamp" in error["message"]
    assert not Run.objects.exists()


def test_a_replayed_delivery_is_refused(alice: Persona, anonymous: APIClient) -> None:
    secret = give_secret(alice.tenant, SIGNUP)
    path = BEFORE_USER_CREATED.format(slug="acme")
    body = json.dumps(before_user_created_payload())
    headers = signed_headers(secret, body, webhook_id="msg_replayed")
    assert anonymous.post(path, body, content_type="application/json", **headers).status_code == 200
    again = anonymous.post(path, body, content_type="application/json", **headers)
    assert_error(again, 409, "conflict")
    assert Run.objects.count() == 1


def test_a_delivery_that_failed_can_be_sent_again(alice: Persona, anonymous: APIClient) -> None:
    secret = give_secret(alice.tenant, SIGNUP)
    path = BEFORE_USER_CREATED.format(slug="acme")
    failed = deliver(anonymous, path, secret, {"metadata": {}}, webhook_id="msg_retry")
    error = assert_error(failed, 400, "invalid_request")
    assert error["details"] == {"field": "user"}
    retried = deliver(
        anonymous, path, secret, before_user_created_payload(), webhook_id="msg_retry"
    )
    assert retried.status_code == 200
    assert HookDelivery.objects.filter(webhook_id="msg_retry").count() == 1


def test_missing_signature_headers_are_refused(alice: Persona, anonymous: APIClient) -> None:
    give_secret(alice.tenant, SIGNUP)
    response = anonymous.post(
        BEFORE_USER_CREATED.format(slug="acme"),
        json.dumps(before_user_created_payload()),
        content_type="application/json",
    )
    error = assert_error(response, 401, "authentication_failed")
    assert "webhook-id" in error["message"]


def test_a_tenants_secret_never_authenticates_another_tenant(
    alice: Persona, charlie: Persona, anonymous: APIClient
) -> None:
    acme_secret = give_secret(alice.tenant, SIGNUP)
    payload = before_user_created_payload()
    # globex has no secret yet, then one of its own: acme's signature opens neither.
    globex = BEFORE_USER_CREATED.format(slug="globex")
    assert_error(deliver(anonymous, globex, acme_secret, payload), 401, "authentication_failed")
    give_secret(charlie.tenant, SIGNUP)
    assert_error(deliver(anonymous, globex, acme_secret, payload), 401, "authentication_failed")
    unknown = BEFORE_USER_CREATED.format(slug="nobody")
    assert_error(deliver(anonymous, unknown, acme_secret, payload), 401, "authentication_failed")
    assert not Run.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("{not json", "body"),
        ("[1, 2]", "non_field_errors"),
        ('{"user": "ann"}', "user"),
        ('{"user": {"email": "a\\u0000b"}}', "body"),
    ],
)
def test_bad_input_is_a_400_in_the_error_shape(
    alice: Persona, anonymous: APIClient, body: str, field: str
) -> None:
    secret = give_secret(alice.tenant, SIGNUP)
    response = deliver(anonymous, BEFORE_USER_CREATED.format(slug="acme"), secret, body)
    error = assert_error(response, 400, "invalid_request")
    assert error["details"]["field"] == field
    assert b"Traceback" not in response.content


def test_bad_access_token_input_names_the_field(alice: Persona, anonymous: APIClient) -> None:
    secret = give_secret(alice.tenant, TOKEN)
    path = CUSTOM_ACCESS_TOKEN.format(slug="acme")
    for payload, field in (
        ({"claims": {}}, "user_id"),
        ({"user_id": "u_1", "claims": []}, "claims"),
    ):
        error = assert_error(deliver(anonymous, path, secret, payload), 400, "invalid_request")
        assert error["details"]["field"] == field


def test_hooks_are_throttled_per_tenant(
    alice: Persona, charlie: Persona, anonymous: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.core.cache import cache

    from apps.api.throttling import PrincipalRateThrottle

    cache.clear()
    monkeypatch.setattr(PrincipalRateThrottle, "THROTTLE_RATES", {"principal": "2/min"})
    secret = give_secret(alice.tenant, SIGNUP)
    path = BEFORE_USER_CREATED.format(slug="acme")
    for _ in range(2):
        assert deliver(anonymous, path, secret, before_user_created_payload()).status_code == 200
    throttled = deliver(anonymous, path, secret, before_user_created_payload())
    assert_error(throttled, 429, "throttled")
    assert int(throttled["Retry-After"]) >= 1  # Supabase Auth retries when it is given
    other = give_secret(charlie.tenant, SIGNUP)
    globex = BEFORE_USER_CREATED.format(slug="globex")
    assert deliver(anonymous, globex, other, before_user_created_payload()).status_code == 200
    cache.clear()
