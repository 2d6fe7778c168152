import pytest

from apps.core.env import (
    ImproperSetting,
    env_bool,
    env_hosts_or_networks,
    env_int,
    env_list,
    env_url,
)


def test_it_parses_booleans_strictly() -> None:
    assert env_bool("DEBUG", False, {"DEBUG": "True"}) is True
    assert env_bool("DEBUG", True, {"DEBUG": "off"}) is False
    assert env_bool("DEBUG", True, {}) is True
    with pytest.raises(ImproperSetting, match="DEBUG"):
        env_bool("DEBUG", False, {"DEBUG": "maybe"})


def test_it_rejects_non_integers_and_out_of_bounds_values() -> None:
    assert env_int("RUN_RETENTION_DAYS", 90, minimum=1, env={"RUN_RETENTION_DAYS": "30"}) == 30
    with pytest.raises(ImproperSetting, match="RUN_RETENTION_DAYS"):
        env_int("RUN_RETENTION_DAYS", 90, env={"RUN_RETENTION_DAYS": "ninety"})
    with pytest.raises(ImproperSetting, match="at least 1"):
        env_int("RUN_RETENTION_DAYS", 90, minimum=1, env={"RUN_RETENTION_DAYS": "0"})


def test_it_rejects_empty_list_items() -> None:
    assert env_list("ALLOWED_HOSTS", [], {"ALLOWED_HOSTS": "a.com, b.com"}) == ["a.com", "b.com"]
    with pytest.raises(ImproperSetting, match="ALLOWED_HOSTS"):
        env_list("ALLOWED_HOSTS", [], {"ALLOWED_HOSTS": "a.com,,b.com"})


def test_it_rejects_urls_with_the_wrong_scheme_or_no_host() -> None:
    schemes = {"sqlite", "postgres"}
    assert env_url("DATABASE_URL", "", schemes, {"DATABASE_URL": "postgres://u@h/db"})
    with pytest.raises(ImproperSetting, match="DATABASE_URL"):
        env_url("DATABASE_URL", "", schemes, {"DATABASE_URL": "mysql://h/db"})
    with pytest.raises(ImproperSetting, match="no host"):
        env_url("DATABASE_URL", "", schemes, {"DATABASE_URL": "postgres:///db"})


def test_it_validates_the_http_allow_list() -> None:
    value = {"SANDBOX_HTTP_ALLOW": "127.0.0.0/8,hooks.internal,::1,*.corp.test,127.0.0.1:8080"}
    assert env_hosts_or_networks("SANDBOX_HTTP_ALLOW", [], value) == [
        "127.0.0.0/8",
        "hooks.internal",
        "::1",
        "*.corp.test",
        "127.0.0.1:8080",
    ]
    with pytest.raises(ImproperSetting, match="SANDBOX_HTTP_ALLOW"):
        env_hosts_or_networks("SANDBOX_HTTP_ALLOW", [], {"SANDBOX_HTTP_ALLOW": "10.0.0.0/33"})
    with pytest.raises(ImproperSetting, match="port"):
        env_hosts_or_networks(
            "SANDBOX_HTTP_ALLOW", [], {"SANDBOX_HTTP_ALLOW": "hooks.internal:99999"}
        )


def test_a_bad_setting_stops_start_up_naming_the_variable() -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "DEBUG": "True", "RUN_RETENTION_DAYS": "soon"}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE']="
            "'genauth_pipeline.settings'; django.setup()",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "RUN_RETENTION_DAYS" in result.stderr
    assert "Traceback" not in result.stderr
