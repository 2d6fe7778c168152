"""Secret values never survive in run data: every occurrence becomes [REDACTED:NAME]."""

from __future__ import annotations

import json

import pytest

from apps.secrets.redaction import MIN_REDACTABLE_LENGTH, redact

SECRETS = {"SLACK_TOKEN": "xoxb-123-secret", "API_KEY": "k3y-v4lue"}


def test_it_redacts_secrets_anywhere_in_nested_structures() -> None:
    run = {
        "user": {"email": "a@example.com", "notes": ["sent xoxb-123-secret to slack"]},
        "context": {"deep": [{"deeper": ("k3y-v4lue", 1, None, True)}]},
    }
    assert redact(run, SECRETS) == {
        "user": {"email": "a@example.com", "notes": ["sent [REDACTED:SLACK_TOKEN] to slack"]},
        "context": {"deep": [{"deeper": ["[REDACTED:API_KEY]", 1, None, True]}]},
    }


def test_it_redacts_dictionary_keys_too() -> None:
    assert redact({"k3y-v4lue": {"xoxb-123-secret": 1}}, SECRETS) == {
        "[REDACTED:API_KEY]": {"[REDACTED:SLACK_TOKEN]": 1}
    }


def test_it_redacts_log_messages_and_error_messages_of_steps() -> None:
    steps = [
        {
            "name": "notify",
            "logs": [{"level": "info", "message": "token=xoxb-123-secret!", "t_ms": 0.2}],
            "error": {"message": "Bad key k3y-v4lue", "stack": "at pipe (k3y-v4lue:1:1)"},
        }
    ]
    redacted = redact(steps, SECRETS)
    assert redacted[0]["logs"][0]["message"] == "token=[REDACTED:SLACK_TOKEN]!"
    assert redacted[0]["error"]["message"] == "Bad key [REDACTED:API_KEY]"
    assert redacted[0]["error"]["stack"] == "at pipe ([REDACTED:API_KEY]:1:1)"
    assert "xoxb" not in json.dumps(redacted) and "k3y-v4lue" not in json.dumps(redacted)


def test_it_returns_a_copy_and_leaves_the_input_alone() -> None:
    original = {"a": ["xoxb-123-secret"], "b": {"c": 1}}
    copy = redact(original, SECRETS)
    copy["b"]["c"] = 2
    assert original == {"a": ["xoxb-123-secret"], "b": {"c": 1}}
    unchanged = redact(original, {})
    assert unchanged == original and unchanged is not original
    assert unchanged["b"] is not original["b"]


def test_the_longest_secret_wins_when_one_contains_another() -> None:
    secrets = {"SHORT": "abcd", "LONG": "abcdefgh"}
    assert redact("x abcdefgh y abcd", secrets) == "x [REDACTED:LONG] y [REDACTED:SHORT]"


def test_a_marker_is_never_redacted_again_even_if_a_secret_matches_it() -> None:
    secrets = {"NAME": "secret-one", "OTHER": "REDACTED"}
    assert redact("secret-one", secrets) == "[REDACTED:NAME]"


def test_values_shorter_than_the_minimum_are_left_alone() -> None:
    short = "a" * (MIN_REDACTABLE_LENGTH - 1)
    assert redact({"text": f"banana {short}"}, {"TINY": short, "EMPTY": ""}) == {
        "text": f"banana {short}"
    }


def test_special_characters_in_secrets_are_matched_literally() -> None:
    assert redact("p(a)s.s*[1]", {"PW": "(a)s.s*[1]"}) == "p[REDACTED:PW]"
    assert redact("pXaYs", {"PW": "(a)s.s*[1]"}) == "pXaYs"


def test_a_number_holding_a_numeric_secret_is_replaced() -> None:
    assert redact({"pin": 482913, "n": 7, "ok": True}, {"PIN": "482913"}) == {
        "pin": "[REDACTED:PIN]",
        "n": 7,
        "ok": True,
    }


def test_two_names_with_the_same_value_are_reported_under_the_first_name() -> None:
    assert redact("same-value", {"B_NAME": "same-value", "A_NAME": "same-value"}) == (
        "[REDACTED:A_NAME]"
    )


@pytest.mark.parametrize("secret", ['pa"ss\\word', "line1\nline2", "tab\there", "ünïcødé-sëcret"])
def test_secrets_with_characters_json_escapes_are_still_found(secret: str) -> None:
    run = {"logs": [{"message": f"got {secret}!"}], secret: [secret]}
    assert redact(run, {"TRICKY": secret}) == {
        "logs": [{"message": "got [REDACTED:TRICKY]!"}],
        "[REDACTED:TRICKY]": ["[REDACTED:TRICKY]"],
    }


def test_data_without_any_secret_comes_back_equal_but_copied() -> None:
    run = {"user": {"id": 1, "tags": ["a", "b"], "ok": True, "x": None, "f": 1.5}}
    copy = redact(run, SECRETS)
    assert copy == run and copy["user"] is not run["user"]
    assert copy["user"]["tags"] is not run["user"]["tags"]


def test_non_json_values_are_passed_through_while_secrets_are_still_redacted() -> None:
    marker = object()
    redacted = redact({"obj": marker, "text": "k3y-v4lue"}, SECRETS)
    assert redacted == {"obj": marker, "text": "[REDACTED:API_KEY]"}
