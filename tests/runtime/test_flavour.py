"""A function's flavour, read from its code (shown in the console), and validation at save and
publish accepting each flavour."""

from __future__ import annotations

import time

import pytest

import apps.runtime as runtime
from apps.runtime.flavour import action_handlers, code_meta, detect_flavour

PIPE = "async function pipe(user, context, callback) { callback(null, user, context); }"
NAMED_RULE = "function emailVerified(user, context, callback) { callback(null, user, context); }"
ANONYMOUS_RULE = (
    "// a rule\nfunction (user, context, callback) {\n  callback(null, user, context);\n};\n"
)
ACTION = "exports.onExecutePostLogin = async (event, api) => {};"
MODULE_ACTION = "const onExecutePreUserRegistration = async () => {};\nmodule.exports = { onExecutePreUserRegistration };"


@pytest.mark.parametrize(
    ("code", "flavour"),
    [
        (PIPE, "pipe"),
        ("function helper() {}\n" + PIPE, "pipe"),
        (NAMED_RULE, "auth0_rule"),
        (ANONYMOUS_RULE, "auth0_rule"),
        (ACTION, "auth0_action"),
        (MODULE_ACTION, "auth0_action"),
        ("// exports.onExecutePostLogin = 1\n" + PIPE, "pipe"),
        ("const x = 1;", "pipe"),
    ],
)
def test_the_flavour_is_read_from_the_code(code: str, flavour: str) -> None:
    assert detect_flavour(code) == flavour


def test_action_handlers_are_listed_in_auth0s_order() -> None:
    code = "exports.onExecuteCredentialsExchange = a;\nexports.onExecutePostLogin = b;"
    assert action_handlers(code) == ["onExecutePostLogin", "onExecuteCredentialsExchange"]


@pytest.mark.parametrize("code", [PIPE, NAMED_RULE, ANONYMOUS_RULE, ACTION, MODULE_ACTION])
def test_validation_accepts_every_flavour(code: str) -> None:
    assert runtime.validate_code(code) is None


def test_validation_names_the_three_flavours_when_none_is_there() -> None:
    message = runtime.validate_code("const x = 1;")["message"]
    assert "pipe" in message and "Auth0 Action" in message and "Auth0 Rule" in message


@pytest.mark.parametrize(
    "head", ["function", "function pipe", "authing", "auth0.x", "var", "'", "/*"]
)
def test_reading_hostile_code_stays_linear(head: str) -> None:
    # 100 KB (the code size limit) of blank space after a prefix that made an earlier reading
    # quadratic (~40 s); linear, it is milliseconds. The bound is only against a hang.
    code = head + " " * 100_000 + "x"
    started = time.perf_counter()
    detect_flavour(code)
    action_handlers(code)
    code_meta(code + "\n" * 100_000)
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize(
    "code",
    [
        "function helper(user, context, callback) {}\nhelper({}, {}, () => {});",
        "function helper(a) { return a; }\nconst x = helper(1);",
    ],
)
def test_a_script_that_only_starts_with_a_function_is_no_rule(code: str) -> None:
    assert detect_flavour(code) == "pipe"
    assert "Auth0 Rule" in runtime.validate_code(code)["message"]


def test_a_named_rule_with_comments_strings_and_a_trailing_semicolon_is_a_rule() -> None:
    code = "// rule\nfunction r(user, context, callback) {\n  const s = '}';\n  callback(null, user, context); // }\n};\n"
    assert detect_flavour(code) == "auth0_rule"
    assert runtime.validate_code(code) is None
