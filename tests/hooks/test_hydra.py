"""Ory Hydra's token hook, with Hydra's documented payload, authenticated by our API key."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.runs.models import Run
from tests.conftest import Persona, assert_error
from tests.runs.helpers import DENY, add_function

pytestmark = pytest.mark.django_db

PATH = "/api/v1/hooks/hydra/token"
# Hydra's documented example request (authorization code flow).
PAYLOAD: dict[str, Any] = {
    "session": {
        "id_token": {
            "id_token_claims": {
                "jti": "",
                "iss": "http://your-slug-xyz.projects.oryapis.com",
                "sub": "subject",
                "aud": ["app-client"],
                "nonce": "",
                "at_hash": "",
                "acr": "1",
                "amr": None,
                "c_hash": "",
                "ext": {"existing": "kept"},
            },
            "headers": {"extra": {}},
            "username": "",
            "subject": "foo",
        },
        "extra": {"tier": "basic", "legacy": True},
        "client_id": "app-client",
        "consent_challenge": "",
        "exclude_not_before_claim": False,
        "allowed_top_level_claims": [],
    },
    "request": {
        "client_id": "app-client",
        "granted_scopes": ["offline", "openid", "hydra.*"],
        "granted_audience": [],
        "grant_types": ["authorization_code"],
        "payload": {},
    },
}
ACCESS = """
async function pipe(user, context, callback) {
  user.addAccessToken("tier", "gold");
  user.removeAccessToken("legacy");
  user.addAccessToken("client", context.clientId);
  callback(null, user, context);
}
"""
ID_TOKEN = """
async function pipe(user, context, callback) {
  user.addIdToken("https://acme.test/roles", ["admin"]);
  callback(null, user, context);
}
"""
MACHINES = """
async function pipe(user, context, callback) {
  if (context.accessTokenTarget === "programmaticAccount") {
    user.addAccessToken("m2m", true);
  }
  callback(null, user, context);
}
"""


def hook(persona: Persona, payload: Any = None) -> Any:
    return persona.api().post(PATH, PAYLOAD if payload is None else payload, format="json")


def test_claims_from_both_pipelines_come_back_whole(alice: Persona) -> None:
    add_function(alice.tenant, "access", ACCESS, trigger="PRE_OIDC_ACCESS_TOKEN_ISSUED")
    add_function(alice.tenant, "id", ID_TOKEN, trigger="PRE_OIDC_ID_TOKEN_ISSUED")
    response = hook(alice)
    assert response.status_code == 200, response.content
    assert response.json() == {
        "session": {
            "access_token": {"tier": "gold", "client": "app-client"},
            "id_token": {"existing": "kept", "https://acme.test/roles": ["admin"]},
        }
    }
    runs = {run.trigger: run for run in Run.objects.all()}
    assert set(runs) == {"PRE_OIDC_ACCESS_TOKEN_ISSUED", "PRE_OIDC_ID_TOKEN_ISSUED"}
    for run in runs.values():
        assert run.caller.startswith("hook:hydra key:")
        assert run.input["user"] == {"id": "foo"}
        assert run.input["context"]["grantTypes"] == ["authorization_code"]


def test_nothing_to_change_answers_204(alice: Persona) -> None:
    response = hook(alice)
    assert response.status_code == 204
    assert Run.objects.count() == 2  # both recorded, as every execution is


def test_without_openid_no_id_token_pipeline_runs(alice: Persona) -> None:
    add_function(alice.tenant, "access", ACCESS, trigger="PRE_OIDC_ACCESS_TOKEN_ISSUED")
    payload = copy.deepcopy(PAYLOAD)
    payload["request"]["granted_scopes"] = ["offline"]
    response = hook(alice, payload)
    assert response.status_code == 200
    assert response.json()["session"]["id_token"] == {"existing": "kept"}
    assert [run.trigger for run in Run.objects.all()] == ["PRE_OIDC_ACCESS_TOKEN_ISSUED"]


def test_client_credentials_run_as_machine_to_machine(alice: Persona) -> None:
    add_function(alice.tenant, "machines", MACHINES, trigger="PRE_OIDC_ACCESS_TOKEN_ISSUED")
    payload = {
        "session": {"id_token": {}, "extra": {}, "client_id": "robot"},
        "request": {
            "client_id": "robot",
            "granted_scopes": ["read"],
            "granted_audience": ["https://api.acme.test"],
            "grant_types": ["client_credentials"],
        },
    }
    response = hook(alice, payload)
    assert response.json()["session"]["access_token"] == {"m2m": True}
    run = Run.objects.get()
    assert run.input["user"] == {}
    assert run.input["context"]["accessTokenTarget"] == "programmaticAccount"


def test_a_deny_is_a_403_in_the_error_shape(alice: Persona) -> None:
    add_function(alice.tenant, "gate", DENY, trigger="PRE_OIDC_ACCESS_TOKEN_ISSUED")
    error = assert_error(hook(alice), 403, "domain_not_allowed")
    assert error["message"] == "Only example.com addresses may register"
    assert error["details"]["function"] == "gate"
    assert Run.objects.get().decision == "deny"


def test_a_deny_of_the_id_token_refuses_too(alice: Persona) -> None:
    add_function(alice.tenant, "gate", DENY, trigger="PRE_OIDC_ID_TOKEN_ISSUED")
    assert_error(hook(alice), 403, "domain_not_allowed")


def test_without_a_key_nothing_runs() -> None:
    response = APIClient().post(PATH, PAYLOAD, format="json")
    assert_error(response, 401, "authentication_failed")


def test_each_key_runs_its_own_tenants_pipelines(alice: Persona, charlie: Persona) -> None:
    add_function(alice.tenant, "gate", DENY, trigger="PRE_OIDC_ACCESS_TOKEN_ISSUED")
    assert hook(charlie).status_code == 204
    assert {run.tenant_id for run in Run.objects.all()} == {charlie.tenant.pk}


@pytest.mark.parametrize("payload", [[], {"session": {}}, {"request": "x"}])
def test_bad_input_is_a_400_in_the_error_shape(alice: Persona, payload: Any) -> None:
    assert_error(hook(alice, payload), 400, "invalid_request")
    assert not Run.objects.exists()
