"""The pipe(user, context, callback) contract of SPEC section 4."""

from __future__ import annotations

import json
import re

import apps.runtime as runtime

from .conftest import PASS_THROUGH, make_job


def test_it_passes_changed_objects_to_the_next_function(run):
    result = run(
        "async function pipe(user, context, callback) { user.plan = 'free'; callback(null, user, context); }",
        "async function pipe(user, context, callback) { context.seen = user.plan; callback(null, user, context); }",
    )
    assert result["decision"] == "allow"
    assert result["error"] is None
    assert result["user"]["plan"] == "free"
    assert result["context"]["seen"] == "free"
    assert [s["status"] for s in result["steps"]] == ["ok", "ok"]
    assert [s["function_id"] for s in result["steps"]] == ["fn_0", "fn_1"]
    assert result["steps"][0]["version"] == 1


def test_it_denies_with_the_error_message_and_default_code(run):
    result = run(
        "async function pipe(user, context, callback) { callback(new Error('Only example.org')); }"
    )
    assert result["decision"] == "deny"
    assert result["error"] == {
        "code": "access_denied",
        "message": "Only example.org",
        "function": "step-0",
    }
    assert result["steps"][0]["status"] == "denied"


def test_it_denies_with_the_error_code(run):
    result = run("""async function pipe(user, context, callback) {
        const e = new Error('blocked'); e.code = 'email_domain_blocked'; callback(e); }""")
    assert result["error"]["code"] == "email_domain_blocked"
    assert result["error"]["message"] == "blocked"


def test_it_does_not_run_the_steps_after_a_deny(run):
    result = run("async function pipe(u, c, cb) { cb(new Error('no')); }", PASS_THROUGH)
    assert len(result["steps"]) == 1


def test_omitted_callback_arguments_mean_unchanged(run):
    result = run(
        "async function pipe(user, context, callback) { user.x = 1; callback(null); }",
        "async function pipe(user, context, callback) { callback(null, user); }",
    )
    assert result["decision"] == "allow"
    assert result["user"]["x"] == 1
    assert result["context"] == {"ip": "10.0.0.1", "app": "web"}


def test_a_missing_callback_completes_the_step_with_a_warning(run):
    result = run("async function pipe(user, context, callback) { user.late = true; }")
    assert result["decision"] == "allow"
    assert result["user"]["late"] is True
    assert result["steps"][0]["logs"][-1]["level"] == "warn"
    assert "callback" in result["steps"][0]["logs"][-1]["message"]


def test_a_second_callback_is_ignored_with_a_warning(run):
    result = run("""async function pipe(user, context, callback) {
        setTimeout(() => { callback(null, user, context); callback(new Error('second')); }, 0); }""")
    assert result["decision"] == "allow"


def test_a_second_synchronous_callback_is_ignored(run):
    result = run("""function pipe(user, context, callback) {
        user.first = true; callback(null, user, context); callback(new Error('second')); }""")
    assert result["decision"] == "allow"
    assert result["user"]["first"] is True


def test_a_thrown_error_is_a_function_error_with_a_generic_message(run):
    result = run(
        "async function pipe(user, context, callback) {\n  const x = null;\n  x.boom();\n}"
    )
    assert result["decision"] == "deny"
    assert result["error"] == {
        "code": "function_error",
        "message": "The request could not be completed.",
        "function": "step-0",
    }
    step = result["steps"][0]
    assert step["status"] == "error"
    assert step["error"]["name"] == "TypeError"
    assert "boom" in step["error"]["message"]
    assert step["error"]["line"] == 3
    assert "step-0.js:3" in step["error"]["stack"]


def test_a_stack_shows_the_functions_frames_and_built_ins_not_the_sandboxs(run):
    result = run(
        "async function pipe(user, context, callback) {\n  [1].map(() => new URL('nope'));\n}"
    )
    stack = result["steps"][0]["error"]["stack"].splitlines()
    assert stack[0] == "TypeError: Invalid URL: 'nope'"
    assert stack[1:] == [
        "    at step-0.js:2:17",
        "    at Array.map (<anonymous>)",
        "    at pipe (step-0.js:2:7)",
    ]


def test_a_stack_the_function_reads_itself_shows_none_of_the_sandboxs_frames(run):
    # Read as e.stack by the function (logged, put in a message), not only as the run record
    # shows a thrown error: at the start, captured, in a rejected request and in a timer.
    result = run(
        """async function pipe(user, context, callback) {
          console.log(new Error('started').stack);
          const captured = {}; Error.captureStackTrace(captured); console.log(captured.stack);
          try { await fetch('ftp://example.com/'); } catch (e) { console.log(e.stack); }
          setTimeout(function later() {
            try { null.x; } catch (e) { callback(new Error('wrapped: ' + e.stack)); }
          }, 0);
        }"""
    )
    assert result["decision"] == "deny", result
    logged = [entry["message"] for entry in result["steps"][0]["logs"]]
    stacks = [*logged[:1], logged[1], logged[-1], result["error"]["message"]]
    assert stacks[0].splitlines()[0] == "Error: started"
    assert stacks[1].splitlines()[0] == "Error"
    assert stacks[2].splitlines()[0].startswith("Error: Only http and https")
    assert stacks[3].startswith("wrapped: TypeError") and "later [as fn] (" in stacks[3]
    for stack in stacks:
        frames = [line.strip() for line in stack.splitlines() if line.strip().startswith("at ")]
        assert all(".js:" in frame for frame in frames), stack  # the function's own script
        assert not re.search(r"<anonymous>:\d+", stack), stack


def test_a_rejected_promise_is_a_function_error(run):
    result = run(
        "async function pipe(user, context, callback) { await null; throw new RangeError('late'); }"
    )
    assert result["error"]["code"] == "function_error"
    assert result["steps"][0]["error"]["message"] == "late"
    assert result["steps"][0]["error"]["name"] == "RangeError"


def test_throwing_a_string_is_reported_as_the_message(run, assert_sandbox_healthy):
    result = run("async function pipe(user, context, callback) { throw 'plain string'; }")
    assert result["error"]["code"] == "function_error"
    assert result["steps"][0]["error"]["message"] == "plain string"
    assert_sandbox_healthy()


def test_throwing_a_non_error_object_is_reported(run, assert_sandbox_healthy):
    result = run("async function pipe(user, context, callback) { throw {reason: 42}; }")
    assert result["steps"][0]["status"] == "error"
    assert "42" in result["steps"][0]["error"]["message"]
    result = run("async function pipe(user, context, callback) { throw null; }")
    assert result["steps"][0]["status"] == "error"
    assert_sandbox_healthy()


def test_custom_data_is_collected_and_never_part_of_user(run):
    result = run("""async function pipe(user, context, callback) {
        user.addCustomData('plan', 'pro'); user.addCustomData('seats', 3); callback(null, user, context); }""")
    assert result["custom_data"] == {"plan": "pro", "seats": 3}
    assert "addCustomData" not in result["user"]
    assert set(result["user"]) == {"email", "id"}


def test_keys_named_like_object_prototype_members_are_plain_data(run):
    result = run(
        """async function pipe(user, context, callback) {
        user.addCustomData('__proto__', { a: 1 }); user.addCustomData('constructor', 2);
        user.addIdToken('toString', 'x'); user.addIdToken('__proto__', 3); callback(null, user, context); }""",
        "async function pipe(u, c, cb) { u.addCustomData('hasOwnProperty', 4); cb(null, u, c); }",
        trigger="PRE_OIDC_ID_TOKEN_ISSUED",
    )
    assert result["decision"] == "allow", result["steps"]
    assert result["custom_data"] == {"__proto__": {"a": 1}, "constructor": 2, "hasOwnProperty": 4}
    assert result["id_token_claims"] == {"set": {"toString": "x", "__proto__": 3}, "remove": []}


def test_text_leaving_the_sandbox_is_storable_anywhere(run):
    # U+0000 (PostgreSQL cannot store it) and unpaired surrogates (not Unicode) become U+FFFD
    # wherever they appear; a surrogate pair and an escaped-looking backslash stay as they are.
    result = run(
        """async function pipe(user, context, callback) {
        log('nul \\u0000 lone \\ud800');
        user.text = 'a\\u0000b\\udc00'; user.smile = '\\ud83d\\ude00'; user.slash = '\\\\u0000';
        user['k\\u0000'] = 1; user.addIdToken('c', '\\ud800'); user.addCustomData('d', ['\\u0000']);
        callback(null, user, context); }""",
        "async function pipe(u, c, cb) { cb('denied \\ud800\\u0000'); }",
        trigger="PRE_OIDC_ID_TOKEN_ISSUED",
    )
    user = result["user"]
    assert user["text"] == "a\ufffdb\ufffd"
    assert user["smile"] == "\U0001f600"
    assert user["slash"] == "\\u0000"
    assert user["k\ufffd"] == 1
    assert result["id_token_claims"]["set"] == {"c": "\ufffd"}
    assert result["custom_data"] == {"d": ["\ufffd"]}
    assert result["steps"][0]["logs"][0]["message"] == "nul \ufffd lone \ufffd"
    assert result["error"]["message"] == "denied \ufffd\ufffd"


def test_data_passed_on_may_nest_64_levels_not_more(run):
    nest = "let d = 1; for (let i = 0; i < %d; i++) d = [d]; user.d = d;"
    ok = run(f"async function pipe(user, context, cb) {{ {nest % 63} cb(null, user, context); }}")
    assert ok["decision"] == "allow"
    assert json.dumps(ok["user"]["d"]).count("[") == 63
    deep = run(f"async function pipe(user, context, cb) {{ {nest % 64} cb(null, user, context); }}")
    assert deep["steps"][0]["error"]["message"] == (
        "The user passed on by callback() cannot be converted to JSON: "
        "it nests deeper than 64 levels"
    )
    dated = run(
        "async function pipe(user, context, cb) {"
        " let d = new Date(0); for (let i = 0; i < 70; i++) d = [d];"
        " user.addCustomData('k', d); cb(null, user, context); }"
    )
    assert dated["steps"][0]["error"]["message"] == (
        "custom data or token claims cannot be converted to JSON: it nests deeper than 64 levels"
    )


def test_id_token_helpers_work_on_their_trigger(run):
    result = run(
        """async function pipe(user, context, callback) {
        user.addIdToken('tier', 'gold'); user.removeIdToken('email'); callback(null, user, context); }""",
        trigger="PRE_OIDC_ID_TOKEN_ISSUED",
    )
    assert result["decision"] == "allow"
    assert result["id_token_claims"] == {"set": {"tier": "gold"}, "remove": ["email"]}
    assert result["access_token_claims"] == {"set": {}, "remove": []}


def test_access_token_helpers_work_on_their_trigger(run):
    result = run(
        """async function pipe(user, context, callback) {
        user.addAccessToken('scope_extra', ['a']); user.removeAccessToken('x'); callback(null, user, context); }""",
        trigger="PRE_OIDC_ACCESS_TOKEN_ISSUED",
    )
    assert result["access_token_claims"] == {"set": {"scope_extra": ["a"]}, "remove": ["x"]}


def test_token_helpers_fail_the_step_outside_their_trigger(run):
    result = run("""async function pipe(user, context, callback) {
        try { user.addIdToken('tier', 'gold'); } catch (e) {} callback(null, user, context); }""")
    assert result["decision"] == "deny"
    assert result["error"]["code"] == "function_error"
    assert "PRE_OIDC_ID_TOKEN_ISSUED" in result["steps"][0]["error"]["message"]
    assert result["id_token_claims"] == {"set": {}, "remove": []}


def test_protected_claims_cannot_be_set_or_removed(run):
    for helper in ("addIdToken('sub', 'x')", "removeIdToken('aud')"):
        result = run(
            f"async function pipe(u, c, cb) {{ u.{helper}; cb(null, u, c); }}",
            trigger="PRE_OIDC_ID_TOKEN_ISSUED",
        )
        assert result["decision"] == "deny"
        assert "protected claim" in result["steps"][0]["error"]["message"]


def test_state_of_a_failed_step_is_discarded(run):
    result = run(
        "async function pipe(u, c, cb) { u.addCustomData('kept', 1); cb(null, u, c); }",
        "async function pipe(u, c, cb) { u.addCustomData('lost', 1); u.bad = true; throw new Error('x'); }",
    )
    assert result["custom_data"] == {"kept": 1}
    assert "bad" not in result["user"]


def test_an_empty_pipeline_allows_with_the_input_unchanged():
    job = make_job()
    result = runtime.run_pipeline(job)
    assert result.decision == "allow"
    assert result.user == job.user
    assert result.steps == ()


def test_run_function_runs_one_function():
    result = runtime.run_function(
        runtime.FunctionJob(code=PASS_THROUGH, name="solo", id="fn_9", version=4),
        tenant_id="t_acme",
        trigger="PRE_REGISTER",
        user={"a": 1},
        context={},
        env={},
    )
    assert result.decision == "allow"
    assert (result.steps[0].name, result.steps[0].function_id) == ("solo", "fn_9")
    assert result.steps[0].version == 4
    assert result.user == {"a": 1, "touched": True}
    assert isinstance(result.duration_ms, float)


def test_a_non_async_function_may_call_back_later(run):
    result = run(
        "function pipe(user, context, callback) { setTimeout(() => { user.t = 1; callback(null, user, context); }, 5); }"
    )
    assert result["decision"] == "allow"
    assert result["user"]["t"] == 1


def test_sandbox_ping_answers_in_milliseconds():
    assert runtime.sandbox_ping() > 0
