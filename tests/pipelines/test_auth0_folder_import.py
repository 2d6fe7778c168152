"""import_pipelines SLUG DIR: an Auth0 Deploy CLI directory of rules and Actions becomes
functions at the mapped triggers; what cannot map is listed and, unless left out on
purpose, nothing is imported."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.pipelines.models import Function
from apps.runs.services import run_execute
from apps.tenants.models import Tenant

pytestmark = pytest.mark.django_db

FORCE_EMAIL_VERIFICATION = """function forceEmailVerification(user, context, callback) {
  if (!user.email_verified) {
    return callback(new UnauthorizedError('Please verify your email before logging in.'));
  }
  return callback(null, user, context);
}
"""
ADD_ROLES = """function (user, context, callback) {
  context.idToken['https://example.com/roles'] = (user.app_metadata || {}).roles || [];
  callback(null, user, context);
}
"""
FAILED_LOGIN = "function (user, context, callback) { callback(null, user, context); }\n"
ADD_CLAIMS = """exports.onExecutePostLogin = async (event, api) => {
  api.idToken.setCustomClaim('https://example.com/tier', event.secrets.TIER);
  api.accessToken.setCustomClaim('https://example.com/tier', event.secrets.TIER);
};
"""
SIGNUP_GUARD = """exports.onExecutePreUserRegistration = async (event, api) => {
  if (!event.user.email.endsWith('@example.com')) api.access.deny('domain', 'Not allowed');
};
"""
M2M_CLAIMS = """exports.onExecuteCredentialsExchange = async (event, api) => {
  api.accessToken.setCustomClaim('https://example.com/client', event.client.client_id);
};
"""
UNBOUND = "exports.onExecutePostLogin = async (event, api) => {};\n"
PHONE = "exports.onExecuteSendPhoneMessage = async (event) => {};\n"
JWT = """const jwt = require('jwt-decode');
exports.onExecutePostLogin = async (event, api) => { jwt(event.secrets.T); };
"""


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def rule(root: Path, name: str, code: str, **meta: object) -> None:
    write(root / "rules" / f"{name}.js", code)
    write(
        root / "rules" / f"{name}.json",
        json.dumps({"name": name, "script": f"./{name}.js", "stage": "login_success", **meta}),
    )


def action(root: Path, name: str, code: str, trigger: str, **meta: object) -> None:
    write(root / "actions" / name / "code.js", code)
    document = {
        "name": name,
        "code": f"./actions/{name}/code.js",
        "runtime": "node18",
        "dependencies": [],
        "secrets": [],
        "supported_triggers": [{"id": trigger, "version": "v3"}],
        "deployed": True,
        **meta,
    }
    write(root / "actions" / f"{name}.json", json.dumps(document))


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    """A Deploy CLI export of which everything maps."""
    root = tmp_path / "tenant"
    rule(root, "force-email-verification", FORCE_EMAIL_VERIFICATION, order=1, enabled=True)
    rule(root, "add-roles", ADD_ROLES, order=2, enabled=False)
    write(
        root / "rules-configs" / "SLACK_URL.json",
        json.dumps({"key": "SLACK_URL", "value": "##X##"}),
    )
    action(root, "add-claims", ADD_CLAIMS, "post-login", secrets=[{"name": "TIER", "value": "x"}])
    action(root, "signup-guard", SIGNUP_GUARD, "pre-user-registration")
    action(root, "m2m-claims", M2M_CLAIMS, "credentials-exchange")
    action(root, "unbound", UNBOUND, "post-login")
    triggers = {
        "post-login": [{"action_name": "add-claims", "display_name": "add-claims"}],
        "pre-user-registration": [{"action_name": "signup-guard", "display_name": "signup-guard"}],
        "credentials-exchange": [{"action_name": "m2m-claims", "display_name": "m2m-claims"}],
    }
    write(root / "triggers" / "triggers.json", json.dumps(triggers))
    (root / "clients").mkdir()
    return root


def import_(slug: str, path: Path, *flags: str) -> str:
    out = StringIO()
    call_command("import_pipelines", slug, str(path), *flags, stdout=out)
    return out.getvalue()


def layout(tenant: Tenant) -> dict[str, list[tuple[str, bool, int | None]]]:
    found: dict[str, list[tuple[str, bool, int | None]]] = {}
    for function in Function.objects.filter(tenant=tenant).order_by(
        "pipeline__trigger", "position"
    ):
        live = function.live_release
        found.setdefault(function.pipeline.trigger, []).append(
            (function.name, function.enabled, live.version if live else None)
        )
    return found


def test_rules_and_actions_land_at_their_triggers_in_order_published(
    acme: Tenant, clean: Path
) -> None:
    out = import_("acme", clean)
    assert layout(acme) == {
        "PRE_AUTHENTICATION": [("force-email-verification", True, 1), ("unbound", False, 1)],
        "PRE_OIDC_ID_TOKEN_ISSUED": [("add-roles", False, 1), ("add-claims", True, 1)],
        "PRE_OIDC_ACCESS_TOKEN_ISSUED": [("add-claims", True, 1), ("m2m-claims", True, 1)],
        "PRE_REGISTER": [("signup-guard", True, 1)],
    }
    code = Function.objects.get(tenant=acme, name="add-roles").live_release
    assert code is not None and code.code == ADD_ROLES
    assert "env: SLACK_URL is not set in this tenant" in out
    assert "env: TIER is not set in this tenant" in out
    assert "actions/unbound: not bound to post-login in triggers.json; imported disabled." in out


def test_importing_the_same_folder_twice_changes_nothing(acme: Tenant, clean: Path) -> None:
    import_("acme", clean)
    assert import_("acme", clean).startswith("No changes.")


def test_anything_that_cannot_map_means_nothing_is_imported_and_says_what(
    acme: Tenant, clean: Path
) -> None:
    rule(clean, "failed-login-alert", FAILED_LOGIN, stage="login_failure")
    action(clean, "phone", PHONE, "send-phone-message")
    action(
        clean,
        "decode",
        JWT,
        "post-login",
        dependencies=[{"name": "jwt-decode", "version": "3.1.2"}],
    )
    (clean / "hooks").mkdir()
    with pytest.raises(CommandError) as refused:
        import_("acme", clean)
    message = str(refused.value)
    assert message.startswith("Nothing was imported. These cannot map:")
    for expected in (
        "rules/failed-login-alert.json (failed-login-alert): runs at stage 'login_failure'",
        "actions/phone.json (phone): runs at Auth0's 'send-phone-message' trigger",
        "actions/phone.json (phone): exports no onExecute... handler",
        "actions/decode.json (decode): needs the npm package 'jwt-decode'",
        "hooks/: Auth0 Hooks are not imported",
        "--skip-unmappable",
    ):
        assert expected in message
    assert not Function.objects.filter(tenant=acme).exists()

    out = import_("acme", clean, "--skip-unmappable")
    assert "Left out (cannot map): actions/decode.json (decode)" in out
    names = set(Function.objects.filter(tenant=acme).values_list("name", flat=True))
    assert names == {
        "force-email-verification",
        "add-roles",
        "add-claims",
        "signup-guard",
        "m2m-claims",
        "unbound",
    }


def test_code_paths_outside_the_folder_are_not_read(
    acme: Tenant, clean: Path, tmp_path: Path
) -> None:
    write(tmp_path / "outside.js", FAILED_LOGIN)
    write(
        clean / "rules" / "sneaky.json",
        json.dumps({"name": "sneaky", "script": "../../outside.js", "stage": "login_success"}),
    )
    with pytest.raises(
        CommandError, match=r"sneaky\): its code file was not found inside the folder"
    ):
        import_("acme", clean)


def test_a_rule_that_does_not_run_here_is_refused_by_the_importers_own_check(
    acme: Tenant, clean: Path
) -> None:
    rule(clean, "broken", "function (user, context, callback) {\n  const x = ;\n}\n")
    with pytest.raises(CommandError, match="Nothing was imported"):
        import_("acme", clean)
    assert not Function.objects.filter(tenant=acme).exists()


def test_the_imported_functions_give_auth0s_documented_outcomes(acme: Tenant, clean: Path) -> None:
    import_("acme", clean)

    def execute(trigger: str, user: dict[str, object], context: dict[str, object]) -> dict:
        outcome = run_execute(
            tenant=acme,
            trigger=trigger,
            user=user,
            context=context,
            mode="sync",
            idempotency_key=None,
            caller="test",
            client_ip=None,
        )
        return outcome.body

    refused = execute("PRE_REGISTER", {"email": "eve@evil.test"}, {})
    assert (refused["decision"], refused["error"]["message"]) == ("deny", "Not allowed")
    unverified = execute("PRE_AUTHENTICATION", {"email": "a@example.com"}, {})
    assert unverified["error"]["code"] == "unauthorized"
    m2m = execute(
        "PRE_OIDC_ACCESS_TOKEN_ISSUED",
        {},
        {"accessTokenTarget": "programmaticAccount", "clientId": "svc"},
    )
    assert m2m["access_token_claims"]["set"] == {"https://example.com/client": "svc"}
