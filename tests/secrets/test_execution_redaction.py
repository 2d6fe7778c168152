"""End to end: functions read env vars and secrets as ``env.NAME``, and secret values
never come back from an execution or a test run, nor sit in the stored run."""

from __future__ import annotations

import json
from typing import Any

import pytest

from apps.core.actor import Actor
from apps.pipelines.services import function_create
from apps.runs.models import Run
from apps.secrets.services import env_set
from tests.conftest import Persona

pytestmark = pytest.mark.django_db
SECRET = "sk_live_51Hx-redact-me-please"

LEAKY = """
async function pipe(user, context, callback) {
  console.log("token is " + env.API_TOKEN);
  log("region", env.REGION);
  user.addCustomData("token", env.API_TOKEN);
  user.addCustomData(env.API_TOKEN, "as a key");
  context.copy = {nested: [env.API_TOKEN, {again: "x" + env.API_TOKEN + "y"}]};
  user.nickname = env.API_TOKEN;
  callback(null, user, context);
}
"""
THROWS = """
async function pipe(user, context, callback) {
  throw new Error("upstream refused " + env.API_TOKEN);
}
"""
DENIES = """
async function pipe(user, context, callback) {
  callback(new Error("no access with " + env.API_TOKEN));
}
"""


def given(alice: Persona, code: str, *, trigger: str = "PRE_REGISTER") -> Any:
    actor = Actor.system()
    env_set(tenant=alice.tenant, name="API_TOKEN", value=SECRET, secret=True, actor=actor)
    env_set(tenant=alice.tenant, name="REGION", value="eu-west", secret=False, actor=actor)
    return function_create(
        tenant=alice.tenant, trigger=trigger, name="leaky", code=code, actor=actor, publish=True
    )


def execute(alice: Persona) -> Any:
    return alice.api().post(
        "/api/v1/pipelines/PRE_REGISTER/execute",
        {"user": {"email": "a@example.com"}, "context": {}},
        format="json",
    )


def stored(run_id: str) -> str:
    run = Run.objects.get(id=run_id)
    return json.dumps(
        {field.name: getattr(run, field.attname) for field in Run._meta.fields}, default=str
    )


def test_functions_read_env_and_secrets_but_outputs_and_logs_are_redacted(alice: Persona) -> None:
    given(alice, LEAKY)
    response = execute(alice)
    assert response.status_code == 200, response.content
    body = response.json()
    assert SECRET not in response.content.decode() and SECRET not in stored(body["run_id"])
    assert body["decision"] == "allow"
    assert body["user"]["nickname"] == "[REDACTED:API_TOKEN]"
    assert body["context"]["copy"] == {
        "nested": ["[REDACTED:API_TOKEN]", {"again": "x[REDACTED:API_TOKEN]y"}]
    }
    assert body["custom_data"] == {
        "token": "[REDACTED:API_TOKEN]",
        "[REDACTED:API_TOKEN]": "as a key",
    }
    messages = [entry["message"] for entry in body["steps"][0]["logs"]]
    assert "token is [REDACTED:API_TOKEN]" in messages
    assert any("eu-west" in message for message in messages)  # plain vars are not redacted


def test_errors_carrying_a_secret_are_redacted(alice: Persona) -> None:
    given(alice, THROWS)
    response = execute(alice)
    assert response.status_code == 200, response.content
    assert SECRET not in response.content.decode()
    assert SECRET not in stored(response.json()["run_id"])
    step_error = json.dumps(response.json()["steps"][0]["error"])
    assert "upstream refused [REDACTED:API_TOKEN]" in step_error


def test_a_deny_message_carrying_a_secret_is_redacted(alice: Persona) -> None:
    given(alice, DENIES)
    response = execute(alice)
    body = response.json()
    assert body["decision"] == "deny"
    assert body["error"]["message"] == "no access with [REDACTED:API_TOKEN]"
    assert SECRET not in response.content.decode() and SECRET not in stored(body["run_id"])


def test_test_runs_are_redacted_too(alice: Persona) -> None:
    function = given(alice, LEAKY)
    response = alice.api().post(
        f"/api/v1/functions/{function.id}/test",
        {"user": {"email": "a@example.com"}, "context": {}},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert SECRET not in response.content.decode()
    assert "[REDACTED:API_TOKEN]" in response.content.decode()
    for run in Run.objects.all():
        assert SECRET not in stored(run.id)


def test_a_changed_secret_is_seen_by_the_very_next_run(alice: Persona) -> None:
    given(alice, LEAKY)
    execute(alice)
    env_set(
        tenant=alice.tenant,
        name="API_TOKEN",
        value="rotated-token",
        secret=True,
        actor=Actor.system(),
    )
    body = execute(alice).json()
    assert body["user"]["nickname"] == "[REDACTED:API_TOKEN]"
    assert SECRET not in json.dumps(body) and "rotated-token" not in json.dumps(body)
