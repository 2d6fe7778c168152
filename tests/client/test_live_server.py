"""The client against the real service (pytest-django's live server), end to end."""

from __future__ import annotations

from typing import Any

import pytest

from apps.runs.models import Run
from genauth_pipeline_client import Client, ExecuteResult, PipelineRequestError
from tests.conftest import Persona
from tests.runs.helpers import DENY, add_function, allow

pytestmark = pytest.mark.usefixtures("_live_database")

CLAIMS = """
async function pipe(user, context, callback) {
  user.addIdToken("https://acme.test/plan", "gold");
  user.addIdToken("iss", "forged");
  user.removeIdToken("nickname");
  callback(null, user, context);
}
"""


def client_for(persona: Persona, live_server: Any, **options: Any) -> Client:
    return Client(live_server.url, persona.key, **options)


def test_an_allow_comes_back_typed_and_the_run_is_recorded(
    alice: Persona, live_server: Any
) -> None:
    add_function(alice.tenant, "tagger", allow("tagger"))
    result = client_for(alice, live_server).execute(
        "PRE_REGISTER", {"email": "ann@example.com"}, {"ip": "203.0.113.9"}
    )
    assert isinstance(result, ExecuteResult)
    assert result.allowed and not result.degraded and not result.queued
    assert result.custom_data == {"plan": "free"}
    assert result.context["seen"] == ["tagger"]
    assert [step["status"] for step in result.steps] == ["ok"]
    run = Run.objects.get(id=result.run_id)
    assert run.source == "api"
    assert run.caller.startswith("key:")


def test_a_deny_carries_the_functions_message(alice: Persona, live_server: Any) -> None:
    add_function(alice.tenant, "domains", DENY)
    result = client_for(alice, live_server).execute("PRE_REGISTER", {"email": "eve@evil.test"})
    assert result.denied
    assert result.error is not None
    assert result.error.code == "domain_not_allowed"
    assert result.message == "Only example.com addresses may register"
    assert result.error.function == "domains"


def test_a_function_setting_a_protected_claim_denies(alice: Persona, live_server: Any) -> None:
    add_function(alice.tenant, "claims", CLAIMS, trigger="PRE_OIDC_ID_TOKEN_ISSUED")
    result = client_for(alice, live_server).execute("PRE_OIDC_ID_TOKEN_ISSUED", {"id": "u_1"})
    assert result.denied and result.error is not None
    assert result.error.code == "function_error"


def test_id_token_claims_land_on_the_idps_claims(alice: Persona, live_server: Any) -> None:
    code = CLAIMS.replace('  user.addIdToken("iss", "forged");\n', "")
    add_function(alice.tenant, "claims", code, trigger="PRE_OIDC_ID_TOKEN_ISSUED")
    result = client_for(alice, live_server).execute("PRE_OIDC_ID_TOKEN_ISSUED", {"id": "u_1"})
    assert result.allowed
    claims = {"sub": "u_1", "iss": "https://idp.test", "nickname": "annie"}
    assert result.apply_id_token_claims(claims) == {
        "sub": "u_1",
        "iss": "https://idp.test",
        "https://acme.test/plan": "gold",
    }
    assert result.apply_access_token_claims(claims) == claims


def test_custom_data_lands_on_the_profile(alice: Persona, live_server: Any) -> None:
    add_function(alice.tenant, "tagger", allow("tagger"))
    result = client_for(alice, live_server).execute("PRE_REGISTER", {"email": "a@example.com"})
    assert result.apply_custom_data({"name": "Ann"}) == {"name": "Ann", "plan": "free"}
    assert result.apply_custom_data({"extra": {"a": 1}}, key="extra") == {
        "extra": {"a": 1, "plan": "free"}
    }


def test_the_same_idempotency_key_answers_the_first_run(alice: Persona, live_server: Any) -> None:
    add_function(alice.tenant, "tagger", allow("tagger"))
    client = client_for(alice, live_server)
    first = client.execute("PRE_REGISTER", {"email": "a@example.com"}, idempotency_key="signup-1")
    second = client.execute("PRE_REGISTER", {"email": "a@example.com"}, idempotency_key="signup-1")
    assert second.run_id == first.run_id
    assert Run.objects.count() == 1
    assert Run.objects.get().idempotency_key == "signup-1"


def test_an_advisory_trigger_is_queued(alice: Persona, live_server: Any) -> None:
    add_function(alice.tenant, "welcome", allow("welcome"), trigger="POST_REGISTER")
    user = {"id": "u_1", "email": "a@example.com"}
    result = client_for(alice, live_server).execute("POST_REGISTER", user)
    assert result.queued and result.allowed and result.run_id
    assert result.user == user


def test_a_bad_key_raises_instead_of_applying_the_policy(alice: Persona, live_server: Any) -> None:
    client = Client(live_server.url, "gp_not-a-real-key")
    with pytest.raises(PipelineRequestError) as raised:
        client.execute("PRE_REGISTER", {"email": "a@example.com"})
    assert raised.value.status == 401
    assert raised.value.code == "authentication_failed"


def test_an_unknown_trigger_raises_with_the_services_code(alice: Persona, live_server: Any) -> None:
    with pytest.raises(PipelineRequestError) as raised:
        client_for(alice, live_server).execute("PRE_NOTHING", {})
    assert (raised.value.status, raised.value.code) == (404, "unknown_trigger")


def test_a_key_of_another_tenant_runs_that_tenants_pipeline(
    alice: Persona, charlie: Persona, live_server: Any
) -> None:
    add_function(alice.tenant, "domains", DENY)
    result = client_for(charlie, live_server).execute("PRE_REGISTER", {"email": "eve@evil.test"})
    assert result.allowed and result.steps == ()
    assert Run.objects.get(id=result.run_id).tenant == charlie.tenant
