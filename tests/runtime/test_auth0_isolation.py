"""An Auth0-flavoured function gets no more power than a pipe: it cannot escape the wrapper it
is compiled in, reach another tenant's state, or change what a later run sees."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.runtime.test_globals import probe

Run = Callable[..., dict[str, Any]]


# Each closes the factory it is compiled in and the driver call around it, so that its middle
# line would run at global scope when the factory is defined (checked by evaluating the define
# script without the parse check first).
ANONYMOUS_ESCAPE = (
    "function (user, context, callback) { callback(null, user, context); })}; }; }, {});\n"
    "globalThis.escaped = 1;\n"
    '__gp.define("x", "y", function () { return function () {return {rule: (function () {}'
)
NAMED_ESCAPE = (
    "function rule(user, context, callback) { callback(null, user, context); }\n"
    "}; }, {});\nglobalThis.escaped = 1;\n"
    '__gp.define("x", "y", function () { return function () {'
)


def test_rules_that_close_their_wrapper_are_refused_and_none_of_them_runs(run: Run) -> None:
    for escape in (ANONYMOUS_ESCAPE, NAMED_ESCAPE):
        result = run(escape, tenant_id="t_escape")
        assert result["decision"] == "deny"
        assert result["steps"][0]["status"] == "error"
        assert result["steps"][0]["error"]["name"] == "SyntaxError"
        assert probe(run, "typeof globalThis.escaped", tenant_id="t_escape") == "undefined"


def test_the_api_event_and_auth0_objects_cannot_be_changed_for_later_runs(run: Run) -> None:
    code = """exports.onExecutePostLogin = async (event, api) => {
  'use strict';
  const out = [];
  for (const attempt of [
    () => { api.access.deny = () => api; },
    () => { api.cache.get = () => ({ value: 'forged' }); },
    () => { event.secrets.TOKEN = 'changed'; },
    () => { UnauthorizedError.prototype.code = 'forged'; },
    () => { Object.getPrototypeOf(event).polluted = 1; },
  ]) {
    try { attempt(); out.push('changed'); } catch (e) { out.push(e.name); }
  }
  api.idToken.setCustomClaim('https://x/out', out);
};"""
    result = run(code, trigger="PRE_OIDC_ID_TOKEN_ISSUED", env={"TOKEN": "t"})
    assert result["id_token_claims"]["set"]["https://x/out"] == ["TypeError"] * 5


def test_configuration_and_exports_are_per_step(run: Run) -> None:
    first = """function (user, context, callback) {
  try { configuration.PLAN = 'forged'; } catch (e) {}
  exports.leaked = true;
  callback(null, user, context);
}"""
    second = """function (user, context, callback) {
  user.seen = [configuration.PLAN, exports.leaked === undefined];
  callback(null, user, context);
}"""
    result = run(first, second, env={"PLAN": "free"})
    assert result["user"]["seen"] == ["free", True]


def test_one_tenants_action_cache_is_not_anothers(run: Run) -> None:
    write = """exports.onExecutePostLogin = async (event, api) => {
  api.cache.set('secret', 'tenant-a-only');
};"""
    read = """exports.onExecutePostLogin = async (event, api) => {
  const r = api.cache.get('secret');
  api.idToken.setCustomClaim('https://x/read', r ? r.value : null);
};"""
    for _ in range(3):  # on both workers
        run(write, trigger="PRE_OIDC_ID_TOKEN_ISSUED", tenant_id="t_cache_a")
    other = run(read, trigger="PRE_OIDC_ID_TOKEN_ISSUED", tenant_id="t_cache_b")
    assert other["id_token_claims"]["set"] == {"https://x/read": None}


def test_auth0_metadata_calls_are_refused_outside_rules(run: Run) -> None:
    result = run(
        "async function pipe(user, context, callback) {\n"
        "  await auth0.users.updateAppMetadata(user.id, { admin: true });\n"
        "  callback(null, user, context);\n}"
    )
    assert result["decision"] == "deny"
    assert "only available in Auth0 Rules" in result["steps"][0]["error"]["message"]
    assert result["custom_data"] == {}


def test_hostile_exports_fail_their_own_step_only(run: Run, assert_sandbox_healthy) -> None:
    code = """Object.defineProperty(module, 'exports', { get() { throw new Error('boom'); } });"""
    result = run(code)
    assert result["steps"][0]["status"] == "error"
    assert result["steps"][0]["error"]["message"] == "boom"
    handler_proxy = """exports.onExecutePostLogin = new Proxy(async () => {}, {
  apply() { while (true) {} },
});"""
    looped = run(handler_proxy, trigger="POST_AUTHENTICATION", timeout_ms=200)
    assert looped["steps"][0]["status"] == "timeout"
    assert_sandbox_healthy()


def test_an_action_cannot_reach_the_driver(run: Run) -> None:
    code = """exports.onExecutePostLogin = async (event, api) => {
  let out;
  try { __gp.start('guess', '{}'); out = 'reached'; } catch (e) { out = e.message; }
  api.idToken.setCustomClaim('https://x/out', out);
};"""
    result = run(code, trigger="PRE_OIDC_ID_TOKEN_ISSUED")
    assert result["id_token_claims"]["set"] == {
        "https://x/out": "__gp is reserved for the sandbox host"
    }


def test_global_is_the_tenants_own_global_object(run: Run) -> None:
    code = """function (user, context, callback) {
  global.seen = (global.seen || 0) + 1;
  user.seen = global === globalThis && global.seen;
  callback(null, user, context);
}"""
    assert run(code, tenant_id="t_global_a")["user"]["seen"] >= 1
    assert probe(run, "typeof global.seen", tenant_id="t_global_b") == "undefined"
