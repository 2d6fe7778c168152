"""Auth0 Actions, written as Auth0 documents them, run unmodified at the trigger their handler
maps to, with an `event` built from the IdP's user and context and Auth0's `api`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Run = Callable[..., dict[str, Any]]

USER = {
    "id": "usr_1679091c5a880faf",
    "email": "jane@example.com",
    "emailVerified": True,
    "givenName": "Jane",
    "loginsCount": 12,
    "roles": [{"code": "admin"}, "editor"],
    "app_metadata": {"plan": "pro"},
}
CONTEXT = {
    "ip": "203.0.113.7",
    "userAgent": "Mozilla/5.0",
    "protocol": "oidc",
    "connection": "email-password",
    "application": {"id": "acme-web", "name": "Acme web"},
    "userPoolId": "pool_c20ad4d76fe97759",
    "scope": "openid profile email",
    "audience": "https://api.acme.example",
    "loginMethod": "password",
    "request": {
        "hostname": "login.acme.example",
        "geoip": {"countryCode": "FR", "continentCode": "EU"},
    },
}
M2M_CONTEXT = {
    "accessTokenTarget": "programmaticAccount",
    "clientId": "svc-reports",
    "scope": "read:reports",
    "audience": "https://api.acme.example",
    "ip": "198.51.100.4",
    "request": {"geoip": {"continentCode": "NA"}},
}


def logs(result: dict[str, Any]) -> list[str]:
    return [log["message"] for step in result["steps"] for log in step["logs"]]


REQUIRE_VERIFIED_EMAIL = """/**
* Handler that will be called during the execution of a PostLogin flow.
*
* @param {Event} event - Details about the user and the context in which they are logging in.
* @param {PostLoginAPI} api - Interface whose methods can be used to change the behavior of the login.
*/
exports.onExecutePostLogin = async (event, api) => {
  if (!event.user.email_verified) {
    api.access.deny('Please verify your email before logging in.');
  }
};
"""


def test_post_login_deny_unverified_email(run: Run) -> None:
    unverified = {**USER, "emailVerified": False}
    denied = run(REQUIRE_VERIFIED_EMAIL, trigger="PRE_AUTHENTICATION", user=unverified)
    assert denied["decision"] == "deny"
    assert denied["error"]["code"] == "access_denied"
    assert denied["error"]["message"] == "Please verify your email before logging in."
    assert (
        run(REQUIRE_VERIFIED_EMAIL, trigger="POST_AUTHENTICATION", user=USER)["decision"] == "allow"
    )


ROLES_INTO_TOKENS = """exports.onExecutePostLogin = async (event, api) => {
  const namespace = 'https://my-app.example.com';
  if (event.authorization) {
    api.idToken.setCustomClaim(`${namespace}/roles`, event.authorization.roles);
    api.accessToken.setCustomClaim(`${namespace}/roles`, event.authorization.roles);
  }
};
"""


def test_post_login_roles_become_claims_of_the_token_being_issued(run: Run) -> None:
    id_token = run(
        ROLES_INTO_TOKENS, trigger="PRE_OIDC_ID_TOKEN_ISSUED", user=USER, context=CONTEXT
    )
    assert id_token["id_token_claims"]["set"] == {
        "https://my-app.example.com/roles": ["admin", "editor"]
    }
    assert id_token["access_token_claims"]["set"] == {}
    access = run(
        ROLES_INTO_TOKENS, trigger="PRE_OIDC_ACCESS_TOKEN_ISSUED", user=USER, context=CONTEXT
    )
    assert access["access_token_claims"]["set"] == {
        "https://my-app.example.com/roles": ["admin", "editor"]
    }
    assert access["id_token_claims"]["set"] == {}
    assert access["user"] == USER and access["context"] == CONTEXT


def test_the_event_maps_the_idps_user_and_context(run: Run) -> None:
    code = """exports.onExecutePostLogin = async (event, api) => {
  api.idToken.setCustomClaim('https://x/event', {
    user_id: event.user.user_id, email_verified: event.user.email_verified,
    given_name: event.user.given_name, app_metadata: event.user.app_metadata,
    ip: event.request.ip, user_agent: event.request.user_agent, geoip: event.request.geoip,
    client: event.client, connection: event.connection.name, tenant: event.tenant.id,
    scopes: event.transaction.requested_scopes, audience: event.resource_server.identifier,
    logins: event.stats.logins_count, method: event.authentication.methods[0].name,
    secret: event.secrets.API_KEY,
  });
};"""
    result = run(
        code, trigger="PRE_OIDC_ID_TOKEN_ISSUED", user=USER, context=CONTEXT, env={"API_KEY": "k1"}
    )
    assert result["id_token_claims"]["set"]["https://x/event"] == {
        "user_id": "usr_1679091c5a880faf",
        "email_verified": True,
        "given_name": "Jane",
        "app_metadata": {"plan": "pro"},
        "ip": "203.0.113.7",
        "user_agent": "Mozilla/5.0",
        "geoip": {"countryCode": "FR", "continentCode": "EU"},
        "client": {"client_id": "acme-web", "name": "Acme web", "metadata": {}},
        "connection": "email-password",
        "tenant": "pool_c20ad4d76fe97759",
        "scopes": ["openid", "profile", "email"],
        "audience": "https://api.acme.example",
        "logins": 12,
        "method": "pwd",
        "secret": "k1",
    }


def test_pre_user_registration_deny_by_domain_shows_the_user_message(run: Run) -> None:
    code = """exports.onExecutePreUserRegistration = async (event, api) => {
  if (event.user.email && event.user.email.endsWith('@example.com')) {
    api.access.deny('email_domain_not_allowed', "Sign-ups from this domain aren't allowed");
  }
};"""
    result = run(code, trigger="PRE_REGISTER", user={"email": "x@example.com"})
    assert result["error"]["code"] == "access_denied"
    assert result["error"]["message"] == "Sign-ups from this domain aren't allowed"
    assert run(code, trigger="PRE_REGISTER", user={"email": "x@acme.test"})["decision"] == "allow"


def test_pre_user_registration_sets_metadata(run: Run) -> None:
    code = """exports.onExecutePreUserRegistration = async (event, api) => {
  api.user.setUserMetadata('screen_name', event.user.username || 'anonymous');
  api.user.setAppMetadata('signup_country', event.request.geoip.countryCode);
};"""
    result = run(
        code, trigger="PRE_REGISTER", user={"email": "a@b.c", "username": "ann"}, context=CONTEXT
    )
    assert result["custom_data"] == {
        "user_metadata": {"screen_name": "ann"},
        "app_metadata": {"signup_country": "FR"},
    }
    assert result["user"]["user_metadata"] == {"screen_name": "ann"}


def test_validation_error_denies_with_its_code(run: Run) -> None:
    code = """exports.onExecutePreUserRegistration = async (event, api) => {
  if (!event.user.phone_number) {
    api.validation.error('invalid_phone', 'A phone number is required to sign up.');
  }
};"""
    result = run(code, trigger="PRE_REGISTER", user={"email": "a@b.c"})
    assert result["error"]["code"] == "invalid_phone"
    assert result["error"]["message"] == "A phone number is required to sign up."
    with_phone = run(code, trigger="PRE_REGISTER", user={"email": "a@b.c", "phone": "+33"})
    assert with_phone["decision"] == "allow"


CREDENTIALS_EXCHANGE = """exports.onExecuteCredentialsExchange = async (event, api) => {
  if (event.request.geoip.continentCode === 'NA') {
    api.access.deny('invalid_request', 'Access from North America is not allowed.');
    return;
  }
  api.accessToken.setCustomClaim('https://my-api.exampleco.com/request-ip', event.request.ip);
  api.accessToken.setCustomClaim('https://my-api.exampleco.com/client', event.client.client_id);
};"""


def test_machine_to_machine_credentials_exchange_deny_and_claims(run: Run) -> None:
    denied = run(
        CREDENTIALS_EXCHANGE, trigger="PRE_OIDC_ACCESS_TOKEN_ISSUED", user={}, context=M2M_CONTEXT
    )
    assert denied["error"]["code"] == "invalid_request"
    assert denied["error"]["message"] == "Access from North America is not allowed."
    europe = {**M2M_CONTEXT, "request": {"geoip": {"continentCode": "EU"}}}
    allowed = run(
        CREDENTIALS_EXCHANGE, trigger="PRE_OIDC_ACCESS_TOKEN_ISSUED", user={}, context=europe
    )
    assert allowed["access_token_claims"]["set"] == {
        "https://my-api.exampleco.com/request-ip": "198.51.100.4",
        "https://my-api.exampleco.com/client": "svc-reports",
    }


def test_a_credentials_exchange_action_leaves_users_tokens_alone(run: Run) -> None:
    result = run(
        CREDENTIALS_EXCHANGE, trigger="PRE_OIDC_ACCESS_TOKEN_ISSUED", user=USER, context=CONTEXT
    )
    assert result["decision"] == "allow"
    assert result["access_token_claims"]["set"] == {}
    assert any("exports no onExecutePostLogin" in m for m in logs(result))


def test_scopes_are_added_and_removed(run: Run) -> None:
    code = """exports.onExecutePostLogin = async (event, api) => {
  api.accessToken.addScope('read:orders');
  api.accessToken.removeScope('profile');
};"""
    result = run(code, trigger="PRE_OIDC_ACCESS_TOKEN_ISSUED", user=USER, context=CONTEXT)
    assert result["access_token_claims"]["set"] == {"scope": "openid email read:orders"}


def test_post_login_app_metadata_and_secrets(run: Run) -> None:
    code = """exports.onExecutePostLogin = async (event, api) => {
  const visits = (event.user.app_metadata.visits || 0) + 1;
  api.user.setAppMetadata('visits', visits);
  api.user.setAppMetadata('plan', null);
  api.idToken.setCustomClaim('https://example.com/tier', event.secrets.TIER);
};"""
    result = run(code, trigger="PRE_OIDC_ID_TOKEN_ISSUED", user=USER, env={"TIER": "gold"})
    assert result["custom_data"] == {"app_metadata": {"visits": 1}}
    assert result["user"]["app_metadata"] == {"visits": 1}
    assert result["id_token_claims"]["set"] == {"https://example.com/tier": "gold"}


def test_api_cache_keeps_values_between_runs_of_one_tenant(run: Run) -> None:
    code = """exports.onExecutePostLogin = async (event, api) => {
  const record = api.cache.get('greeting');
  if (record) {
    api.idToken.setCustomClaim('https://x/cached', record.value);
    return;
  }
  const result = api.cache.set('greeting', 'hello', { ttl: 60000 });
  api.idToken.setCustomClaim('https://x/set', result.type);
};"""
    first = run(code, trigger="PRE_OIDC_ID_TOKEN_ISSUED", tenant_id="t_cache")
    second = run(code, trigger="PRE_OIDC_ID_TOKEN_ISSUED", tenant_id="t_cache")
    claims = [first["id_token_claims"]["set"], second["id_token_claims"]["set"]]
    # Warm isolates are per worker: the second run may land on the other worker once.
    assert claims[0] == {"https://x/set": "success"}
    assert {"https://x/cached": "hello"} in [
        second["id_token_claims"]["set"],
        run(code, trigger="PRE_OIDC_ID_TOKEN_ISSUED", tenant_id="t_cache")["id_token_claims"][
            "set"
        ],
    ]


def test_api_cache_enforces_auth0s_limits(run: Run) -> None:
    code = """exports.onExecutePostLogin = async (event, api) => {
  const out = [api.cache.set('k', 42).code, api.cache.set('x'.repeat(65), 'v').code,
    api.cache.set('big', 'v'.repeat(5000)).code];
  for (let i = 0; i < 25; i++) api.cache.set('n' + i, String(i));
  out.push(api.cache.get('n0') === undefined, api.cache.get('n24').value);
  api.cache.delete('n24');
  out.push(api.cache.get('n24') === undefined);
  api.idToken.setCustomClaim('https://x/out', out);
};"""
    result = run(code, trigger="PRE_OIDC_ID_TOKEN_ISSUED", tenant_id="t_cache_limits")
    assert result["id_token_claims"]["set"]["https://x/out"] == [
        "invalid_value",
        "key_too_long",
        "value_too_large",
        True,
        "24",
        True,
    ]


def test_post_user_registration_runs_and_its_errors_are_step_errors(run: Run) -> None:
    code = """exports.onExecutePostUserRegistration = async (event, api) => {
  console.log(`New user ${event.user.email} via ${event.connection.name}`);
  if (!event.secrets.WEBHOOK_URL) throw new Error('WEBHOOK_URL is not set');
};"""
    result = run(code, trigger="POST_REGISTER", user=USER, context=CONTEXT)
    assert result["steps"][0]["status"] == "error"
    assert result["steps"][0]["error"]["message"] == "WEBHOOK_URL is not set"
    assert result["steps"][0]["error"]["line"] == 3
    assert logs(result) == ["New user jane@example.com via email-password"]


def test_an_action_at_a_trigger_it_has_no_handler_for_is_an_error_that_says_where(run: Run) -> None:
    result = run(REQUIRE_VERIFIED_EMAIL, trigger="PRE_REGISTER")
    message = result["steps"][0]["error"]["message"]
    assert "cannot run at PRE_REGISTER" in message
    assert "onExecutePostLogin runs at POST_AUTHENTICATION" in message


def test_unsupported_api_parts_fail_clearly(run: Run) -> None:
    code = """exports.onExecutePostLogin = async (event, api) => {
  api.redirect.sendUserTo('https://example.com/consent');
};"""
    result = run(code, trigger="POST_AUTHENTICATION")
    assert "api.redirect.sendUserTo is not available" in result["steps"][0]["error"]["message"]


def test_module_exports_object_form_and_deny_after_other_changes(run: Run) -> None:
    code = """const onExecutePostLogin = async (event, api) => {
  api.user.setAppMetadata('flagged', true);
  if (event.client.name === 'Acme web') api.access.deny('Acme web is closed today');
};
module.exports = { onExecutePostLogin };"""
    result = run(code, trigger="PRE_AUTHENTICATION", user=USER, context=CONTEXT)
    assert result["error"]["message"] == "Acme web is closed today"
    assert result["custom_data"] == {}
