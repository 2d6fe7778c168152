"""Encryption at rest: keys from SECRETS_KEYS (newest first), clear errors for bad keys."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from apps.core import crypto


def test_a_value_round_trips_and_the_token_does_not_contain_it(settings: Any) -> None:
    settings.SECRETS_KEYS = [crypto.generate_key()]
    token = crypto.encrypt("hunter2-hunter2")
    assert "hunter2" not in token
    assert crypto.decrypt(token) == "hunter2-hunter2"


def test_in_debug_without_keys_a_key_is_derived_from_the_secret_key(settings: Any) -> None:
    settings.DEBUG, settings.SECRETS_KEYS = True, []
    settings.SECRET_KEY = "one-secret-key"
    token = crypto.encrypt("value")
    derived = crypto.derive_debug_key("one-secret-key")
    assert Fernet(derived.encode()).decrypt(token.encode()) == b"value"
    assert derived != crypto.derive_debug_key("another-secret-key")


def test_without_debug_keys_are_required(settings: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(crypto, "_started_in_debug", False)
    settings.DEBUG, settings.SECRETS_KEYS = False, []
    with pytest.raises(ImproperlyConfigured, match="SECRETS_KEYS"):
        crypto.encrypt("value")


@pytest.mark.parametrize("bad", ["not-a-key", "A" * 44, "short"])
def test_a_bad_key_gives_an_error_naming_the_setting_and_the_key(settings: Any, bad: str) -> None:
    settings.SECRETS_KEYS = [crypto.generate_key(), bad]
    with pytest.raises(ImproperlyConfigured, match=r"SECRETS_KEYS: key 2 of 2 is not a Fernet key"):
        crypto.check_keys()


def test_an_old_key_still_decrypts_and_rotation_moves_to_the_newest(settings: Any) -> None:
    old, new = crypto.generate_key(), crypto.generate_key()
    settings.SECRETS_KEYS = [old]
    token = crypto.encrypt("rotate-me")
    settings.SECRETS_KEYS = [new, old]
    assert crypto.decrypt(token) == "rotate-me"
    rotated = crypto.rotate(token)
    settings.SECRETS_KEYS = [new]
    assert crypto.decrypt(rotated) == "rotate-me"
    with pytest.raises(crypto.InvalidToken):
        crypto.decrypt(token)


def test_a_bad_key_stops_start_up_with_a_message_naming_the_setting(
    settings: Any, monkeypatch: Any
) -> None:
    from django.apps import apps

    settings.SECRETS_KEYS = ["nope"]
    monkeypatch.setattr(crypto, "_started_in_debug", True)  # restored after ready() sets it
    config = apps.get_app_config("secrets")
    with pytest.raises(SystemExit, match="Configuration error: SECRETS_KEYS"):
        config.ready()
