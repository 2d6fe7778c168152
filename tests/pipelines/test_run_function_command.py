"""run_function: a local runner with no database, printing the execute API's shape."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.pipelines.conftest import DENY
from tests.runs.helpers import RESPONSE_KEYS

CLAIMS = """\
async function pipe(user, context, callback) {
  user.addIdToken("https://acme.test/plan", env.PLAN);
  user.addCustomData("seen", context.protocol);
  log("plan", env.PLAN);
  callback(null, user, context);
}
"""


def run(tmp_path: Path, code: str, *args: str, **files: Any) -> tuple[int, dict[str, Any]]:
    script = tmp_path / "my-function.js"
    script.write_text(code)
    for name, value in files.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(value))
        args = (*args, f"--{name}", str(tmp_path / f"{name}.json"))
    out = StringIO()
    status = 0
    try:
        call_command("run_function", str(script), *args, stdout=out)
    except SystemExit as exit_:
        status = int(exit_.code or 0)
    return status, json.loads(out.getvalue())


def test_an_allowing_function_exits_0_with_the_api_shape(tmp_path: Path) -> None:
    status, result = run(
        tmp_path,
        CLAIMS,
        "--trigger",
        "PRE_OIDC_ID_TOKEN_ISSUED",
        "--env",
        "PLAN=gold",
        user={"email": "a@example.com"},
        context={"protocol": "oidc"},
    )
    assert status == 0
    assert set(result) == RESPONSE_KEYS
    assert result["run_id"] is None and result["trigger"] == "PRE_OIDC_ID_TOKEN_ISSUED"
    assert result["decision"] == "allow"
    assert result["user"]["email"] == "a@example.com"
    assert result["id_token_claims"]["set"] == {"https://acme.test/plan": "gold"}
    assert result["custom_data"] == {"seen": "oidc"}
    step = result["steps"][0]
    assert step["name"] == "my-function" and step["status"] == "ok"
    assert any("gold" in entry["message"] for entry in step["logs"])


def test_a_denying_function_exits_1_with_its_message(tmp_path: Path) -> None:
    status, result = run(tmp_path, DENY, "--trigger", "PRE_REGISTER")
    assert status == 1
    assert result["decision"] == "deny"
    assert result["error"]["message"] == "Registrations are closed"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--trigger", "NOPE"], "Unknown trigger"),
        (["--trigger", "PRE_REGISTER", "--env", "NOVALUE"], "NAME=VALUE"),
        (["--trigger", "PRE_REGISTER", "--user", "/nonexistent.json"], "Cannot read"),
        (["--trigger", "PRE_REGISTER", "--timeout-ms", "5"], "--timeout-ms"),
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    script = tmp_path / "f.js"
    script.write_text(DENY)
    with pytest.raises(CommandError, match=message) as refused:
        call_command("run_function", str(script), *args)
    assert refused.value.returncode == 2


def run_with_user_file(tmp_path: Path, user_json: str) -> None:
    script = tmp_path / "f.js"
    script.write_text(DENY)
    (tmp_path / "user.json").write_text(user_json)
    call_command(
        "run_function",
        str(script),
        "--trigger",
        "PRE_REGISTER",
        "--user",
        str(tmp_path / "user.json"),
    )


def test_a_user_file_that_is_not_an_object_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="JSON object") as refused:
        run_with_user_file(tmp_path, "[1]")
    assert refused.value.returncode == 2


def test_a_user_file_no_run_could_store_is_a_usage_error_saying_why(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"may not contain U\+0000 \(at name\)") as refused:
        run_with_user_file(tmp_path, '{"name": "a\\u0000"}')
    assert refused.value.returncode == 2


def test_auth0_actions_and_rules_run_locally_as_they_are(tmp_path: Path) -> None:
    action = (
        "exports.onExecuteCredentialsExchange = async (event, api) => {\n"
        "  api.accessToken.setCustomClaim('https://acme.test/client', event.client.client_id);\n"
        "};\n"
    )
    status, result = run(
        tmp_path,
        action,
        "--trigger",
        "PRE_OIDC_ACCESS_TOKEN_ISSUED",
        user={},
        context={"accessTokenTarget": "programmaticAccount", "clientId": "svc"},
    )
    assert status == 0
    assert result["access_token_claims"]["set"] == {"https://acme.test/client": "svc"}
    rule = (
        "function (user, context, callback) {\n"
        "  if (!user.email_verified) return callback(new UnauthorizedError('Verify first'));\n"
        "  callback(null, user, context);\n"
        "}\n"
    )
    status, result = run(tmp_path, rule, "--trigger", "PRE_AUTHENTICATION", user={"id": "u"})
    assert status == 1
    assert result["error"]["code"] == "unauthorized"
