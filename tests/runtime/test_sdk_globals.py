"""Code written for Authing's hosted runtime may use its SDK client `authing`, which this
sandbox does not provide: the step says so, and fails as before when the code needs it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apps.runtime.flavour import code_meta

Run = Callable[..., dict[str, Any]]


def warnings(result: dict[str, Any]) -> list[str]:
    return [log["message"] for log in result["steps"][0]["logs"] if log["level"] == "warn"]


def test_code_that_needs_authing_fails_and_the_step_names_what_is_missing(run: Run) -> None:
    result = run(
        "async function pipe(user, context, callback) {\n"
        "  const u = await authing.getUserById(user.id);\n"
        "  callback(null, u, context);\n"
        "}"
    )
    assert result["decision"] == "deny"
    step = result["steps"][0]
    assert step["status"] == "error"
    assert step["error"]["message"] == "authing is not defined"
    assert step["error"]["line"] == 2
    [warning] = warnings(result)
    assert "authing.getUserById" in warning
    assert "Authing's SDK client" in warning


def test_code_that_catches_the_reference_error_passes_with_the_warning(run: Run) -> None:
    result = run(
        "async function pipe(user, context, callback) {\n"
        "  try { await authing.statistics.listUserActions(); } catch (e) { log('skipped'); }\n"
        "  callback(null, user, context);\n"
        "}"
    )
    assert result["decision"] == "allow"
    [warning] = warnings(result)
    assert "authing.statistics" in warning


def test_the_name_in_a_comment_string_or_property_is_not_taken_for_the_sdk(run: Run) -> None:
    result = run(
        "// migrated from authing.getUserById\n"
        "async function pipe(user, context, callback) {\n"
        "  user.source = 'authing'; user.meta = { authing: true }; log(user.authing);\n"
        "  callback(null, user, context);\n"
        "}"
    )
    assert result["decision"] == "allow"
    assert warnings(result) == []


def test_auth0_management_calls_beyond_metadata_are_named() -> None:
    meta = code_meta(
        "function (user, context, callback) {\n"
        "  auth0.users.updateAppMetadata(user.user_id, {});\n"
        "  const token = auth0.accessToken; auth0.users.deleteMultifactorProvider();\n"
        "}"
    )
    assert meta["unavailable"] == ["auth0.accessToken", "auth0.users.deleteMultifactorProvider"]
    assert meta["lodash"] is False
