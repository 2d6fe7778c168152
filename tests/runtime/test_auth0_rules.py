"""Auth0 Rules, written as Auth0 documents them (its rules gallery and docs), run unmodified:
the function is the whole script, named or anonymous; context.idToken / context.accessToken
become token claims, app_metadata / user_metadata changes custom data, `configuration` is the
tenant's env, and UnauthorizedError denies with code `unauthorized`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Run = Callable[..., dict[str, Any]]

AUTH0_USER = {
    "user_id": "auth0|5f7c8ec7c33c6c004bbafe82",
    "email": "jane@example.com",
    "email_verified": True,
    "name": "Jane Doe",
    "app_metadata": {"plan": "pro"},
    "user_metadata": {},
}
# What a GenAuth IdP sends (Authing's names): rules see Auth0's names alongside.
GENAUTH_USER = {
    "id": "usr_1679091c5a880faf",
    "email": "jane@example.com",
    "emailVerified": True,
    "loginsCount": 12,
}
CONTEXT = {
    "ip": "203.0.113.7",
    "protocol": "oidc",
    "connection": "email-password",
    "application": {"id": "acme-web", "name": "Acme web"},
    "request": {"hostname": "login.acme.example", "geoip": {"country_name": "France"}},
}


def steps_logs(result: dict[str, Any]) -> list[str]:
    return [log["message"] for step in result["steps"] for log in step["logs"]]


FORCE_EMAIL_VERIFICATION = """function forceEmailVerification(user, context, callback) {
  if (!user.email_verified) {
    return callback(
      new UnauthorizedError('Please verify your email before logging in.')
    );
  } else {
    return callback(null, user, context);
  }
}
"""


def test_force_email_verification_denies_unverified_users_with_unauthorized(run: Run) -> None:
    denied = run(FORCE_EMAIL_VERIFICATION, trigger="PRE_AUTHENTICATION", user={"email": "a@b.c"})
    assert denied["decision"] == "deny"
    assert denied["error"]["code"] == "unauthorized"
    assert denied["error"]["message"] == "Please verify your email before logging in."
    assert denied["steps"][0]["status"] == "denied"
    allowed = run(FORCE_EMAIL_VERIFICATION, trigger="PRE_AUTHENTICATION", user=AUTH0_USER)
    assert allowed["decision"] == "allow"
    assert allowed["user"] == AUTH0_USER


def test_it_reads_authings_email_verified_under_auth0s_name_without_passing_it_on(
    run: Run,
) -> None:
    result = run(FORCE_EMAIL_VERIFICATION, trigger="PRE_AUTHENTICATION", user=GENAUTH_USER)
    assert result["decision"] == "allow"
    assert result["user"] == GENAUTH_USER  # the aliases are not passed on


EMAIL_DOMAIN_ALLOW_LIST = """function emailDomainWhitelist(user, context, callback) {
  // Access should only be granted to verified users.
  if (!user.email || !user.email_verified) {
    return callback(new UnauthorizedError('Access denied.'));
  }

  const whitelist = ['example.com', 'example.org']; //authorized domains
  const userHasAccess = whitelist.some(function (domain) {
    const emailSplit = user.email.split('@');
    return emailSplit[emailSplit.length - 1].toLowerCase() === domain;
  });

  if (!userHasAccess) {
    return callback(new UnauthorizedError('Access denied.'));
  }

  return callback(null, user, context);
}"""


def test_email_domain_allow_list(run: Run) -> None:
    assert run(EMAIL_DOMAIN_ALLOW_LIST, user=AUTH0_USER)["decision"] == "allow"
    other = {**AUTH0_USER, "email": "eve@evil.test"}
    denied = run(EMAIL_DOMAIN_ALLOW_LIST, user=other)
    assert (denied["decision"], denied["error"]["code"]) == ("deny", "unauthorized")


def test_an_anonymous_rule_in_auth0s_stored_format_runs_as_a_function(run: Run) -> None:
    code = """function (user, context, callback) {
  const namespace = 'https://example.com/';
  context.accessToken[namespace + 'email'] = user.email;
  return callback(null, user, context);
};
"""
    result = run(code, trigger="PRE_OIDC_ACCESS_TOKEN_ISSUED", user=AUTH0_USER, context=CONTEXT)
    assert result["decision"] == "allow"
    assert result["access_token_claims"] == {
        "set": {"https://example.com/email": "jane@example.com"},
        "remove": [],
    }
    assert result["context"] == CONTEXT  # idToken / accessToken are not passed on


SET_ROLES = """function setRolesToUser(user, context, callback) {
  // Roles should only be set to verified users.
  if (!user.email || !user.email_verified) {
    return callback(null, user, context);
  }

  user.app_metadata = user.app_metadata || {};
  // You can add a Role based on what you want
  // In this case I check domain
  const addRolesToUser = function (user) {
    const endsWith = '@example.com';

    if (
      user.email &&
      user.email.substring(
        user.email.length - endsWith.length,
        user.email.length
      ) === endsWith
    ) {
      return ['admin'];
    }
    return ['user'];
  };

  const roles = addRolesToUser(user);

  user.app_metadata.roles = roles;
  auth0.users
    .updateAppMetadata(user.user_id, user.app_metadata)
    .then(function () {
      context.idToken['https://example.com/roles'] = user.app_metadata.roles;
      callback(null, user, context);
    })
    .catch(function (err) {
      callback(err);
    });
}"""


def test_set_roles_saves_app_metadata_and_adds_an_id_token_claim(run: Run) -> None:
    result = run(SET_ROLES, trigger="PRE_OIDC_ID_TOKEN_ISSUED", user=AUTH0_USER, context=CONTEXT)
    assert result["decision"] == "allow", result
    assert result["custom_data"] == {"app_metadata": {"plan": "pro", "roles": ["admin"]}}
    assert result["id_token_claims"]["set"] == {"https://example.com/roles": ["admin"]}
    assert result["user"]["app_metadata"] == {"plan": "pro", "roles": ["admin"]}


def test_updating_another_users_metadata_is_refused(run: Run) -> None:
    code = """function (user, context, callback) {
  auth0.users.updateAppMetadata('auth0|someone-else', { admin: true })
    .then(function () { callback(null, user, context); })
    .catch(function (err) { callback(err); });
}"""
    result = run(code, user=AUTH0_USER)
    assert result["decision"] == "deny"
    assert "can only update the user of this login" in result["error"]["message"]
    assert result["custom_data"] == {}


def test_persistent_user_metadata_attribute(run: Run) -> None:
    code = """function addPersistenceAttribute(user, context, callback) {
  user.user_metadata = user.user_metadata || {};
  user.user_metadata.color = user.user_metadata.color || 'purple';
  context.idToken.favorite_color = user.user_metadata.color;

  auth0.users
    .updateUserMetadata(user.user_id, user.user_metadata)
    .then(function () {
      callback(null, user, context);
    })
    .catch(function (err) {
      callback(err);
    });
}"""
    result = run(code, trigger="PRE_OIDC_ID_TOKEN_ISSUED", user=AUTH0_USER)
    assert result["custom_data"] == {"user_metadata": {"color": "purple"}}
    assert result["id_token_claims"]["set"] == {"favorite_color": "purple"}


IP_ALLOW_LIST = """function ipAddressAllowlist(user, context, callback) {
  const allowlist = ['1.2.3.4', '2.3.4.5']; // authorized IPs
  const userHasAccess = allowlist.some(function (ip) {
    return context.request.ip === ip;
  });

  if (!userHasAccess) {
    return callback(new Error('Access denied from this IP address.'));
  }

  return callback(null, user, context);
}"""


def test_ip_allow_list_reads_context_request_ip(run: Run) -> None:
    denied = run(IP_ALLOW_LIST, trigger="PRE_AUTHENTICATION", context=CONTEXT)
    assert denied["error"] == {
        "code": "access_denied",
        "message": "Access denied from this IP address.",
        "function": "step-0",
    }
    allowed = run(IP_ALLOW_LIST, trigger="PRE_AUTHENTICATION", context={**CONTEXT, "ip": "2.3.4.5"})
    assert allowed["decision"] == "allow"
    assert allowed["context"] == {**CONTEXT, "ip": "2.3.4.5"}


APP_USER_ALLOW_LIST = """function userWhitelistForSpecificApp(user, context, callback) {
  // Access should only be granted to verified users.
  if (!user.email || !user.email_verified) {
    return callback(new UnauthorizedError('Access denied.'));
  }

  // only enforce for NameOfTheAppWithWhiteList
  // bypass this rule for all other apps
  if (context.clientName !== 'Acme web') {
    return callback(null, user, context);
  }

  const whitelist = ['user1@example.com', 'user2@example.com']; // authorized users
  const userHasAccess = whitelist.some(function (email) {
    return email === user.email;
  });

  if (!userHasAccess) {
    return callback(new UnauthorizedError('Access denied.'));
  }

  callback(null, user, context);
}"""


def test_user_allow_list_for_one_application_by_client_name(run: Run) -> None:
    denied = run(APP_USER_ALLOW_LIST, user=AUTH0_USER, context=CONTEXT)
    assert (denied["decision"], denied["error"]["code"]) == ("deny", "unauthorized")
    other_app = {**CONTEXT, "application": {"id": "b", "name": "Back office"}}
    assert run(APP_USER_ALLOW_LIST, user=AUTH0_USER, context=other_app)["decision"] == "allow"
    listed = {**AUTH0_USER, "email": "user2@example.com"}
    assert run(APP_USER_ALLOW_LIST, user=listed, context=CONTEXT)["decision"] == "allow"


def test_configuration_is_the_tenants_env(run: Run) -> None:
    code = """function (user, context, callback) {
  const namespace = configuration.CLAIM_NAMESPACE;
  context.idToken[namespace + 'tier'] = configuration.TIER;
  callback(null, user, context);
}"""
    result = run(
        code,
        trigger="PRE_OIDC_ID_TOKEN_ISSUED",
        env={"CLAIM_NAMESPACE": "https://acme.example/", "TIER": "gold"},
    )
    assert result["id_token_claims"]["set"] == {"https://acme.example/tier": "gold"}


def test_geoip_country_claims(run: Run) -> None:
    code = """function addCountry(user, context, callback) {
  if (context.request.geoip) {
    context.idToken['https://example.com/country'] = context.request.geoip.country_name;
    context.idToken['https://example.com/timezone'] = context.request.geoip.time_zone;
  }

  callback(null, user, context);
}"""
    result = run(code, trigger="PRE_OIDC_ID_TOKEN_ISSUED", context=CONTEXT)
    # time_zone is absent: an undefined claim is left out, as JSON leaves it out.
    assert result["id_token_claims"]["set"] == {"https://example.com/country": "France"}


def test_a_rule_using_lodash_and_login_stats(run: Run) -> None:
    code = """function (user, context, callback) {
  const _ = require('lodash');
  const groups = _.uniq(_.get(user, 'app_metadata.groups', [])).sort();
  context.idToken['https://example.com/groups'] = groups;
  context.idToken['https://example.com/logins'] = context.stats.loginsCount;
  callback(null, user, context);
}"""
    user = {**GENAUTH_USER, "app_metadata": {"groups": ["b", "a", "b"]}}
    result = run(code, trigger="PRE_OIDC_ID_TOKEN_ISSUED", user=user, context=CONTEXT)
    assert result["id_token_claims"]["set"] == {
        "https://example.com/groups": ["a", "b"],
        "https://example.com/logins": 12,
    }
    assert result["custom_data"] == {}  # app_metadata was read, not changed


def test_claims_for_another_token_are_left_out_and_said_so(run: Run) -> None:
    code = """function (user, context, callback) {
  context.idToken['https://example.com/a'] = 1;
  context.accessToken['https://example.com/b'] = 2;
  callback(null, user, context);
}"""
    result = run(code, trigger="PRE_OIDC_ID_TOKEN_ISSUED")
    assert result["id_token_claims"]["set"] == {"https://example.com/a": 1}
    assert result["access_token_claims"]["set"] == {}
    assert any("access token claims are applied at" in m for m in steps_logs(result))
    on_login = run(code, trigger="POST_AUTHENTICATION")
    assert on_login["decision"] == "allow"
    assert len(steps_logs(on_login)) == 2


def test_a_protected_claim_fails_the_rule(run: Run) -> None:
    code = """function (user, context, callback) {
  context.idToken.sub = 'someone-else';
  callback(null, user, context);
}"""
    result = run(code, trigger="PRE_OIDC_ID_TOKEN_ISSUED")
    assert result["decision"] == "deny"
    assert result["error"]["code"] == "function_error"
    assert "'sub' is a protected claim" in result["steps"][0]["error"]["message"]


def test_a_rule_chain_passes_its_user_on_to_the_next_function(run: Run) -> None:
    rule = """function (user, context, callback) {
  user.app_metadata = { ...user.app_metadata, checked: true };
  callback(null, user, context);
}"""
    pipe = """async function pipe(user, context, callback) {
  user.addCustomData('seen_checked', user.app_metadata.checked);
  callback(null, user, context);
}"""
    result = run(rule, pipe, user=AUTH0_USER)
    assert result["custom_data"] == {
        "app_metadata": {"plan": "pro", "checked": True},
        "seen_checked": True,
    }


def test_a_syntax_error_in_an_anonymous_rule_has_its_line(run: Run) -> None:
    result = run(
        "function (user, context, callback) {\n  const x = ;\n  callback(null, user, context);\n}"
    )
    error = result["steps"][0]["error"]
    assert error["name"] == "SyntaxError"
    assert error["line"] == 2


def test_a_thrown_error_in_a_rule_is_a_function_error_with_its_line(run: Run) -> None:
    result = run("function (user, context, callback) {\n  null.x;\n}")
    assert result["error"]["code"] == "function_error"
    assert result["steps"][0]["error"]["line"] == 2


def test_rules_do_not_run_for_machine_to_machine_tokens(run: Run) -> None:
    result = run(
        FORCE_EMAIL_VERIFICATION,
        trigger="PRE_OIDC_ACCESS_TOKEN_ISSUED",
        user={},
        context={"accessTokenTarget": "programmaticAccount", "clientId": "svc"},
    )
    assert result["decision"] == "allow"
    assert steps_logs(result) == [
        "Auth0 Rules do not run for machine-to-machine tokens; user and context are passed on unchanged"
    ]
    users_token = run(FORCE_EMAIL_VERIFICATION, trigger="PRE_OIDC_ACCESS_TOKEN_ISSUED", user={})
    assert users_token["error"]["code"] == "unauthorized"
