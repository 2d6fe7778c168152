"""Strict parsers for settings read from environment variables.

A bad value stops start-up with a message naming the variable, instead of
silently falling back to a default that hides the operator's mistake.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlparse


class ImproperSetting(Exception):
    """An environment variable holds a value the service cannot use."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.name = name


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _raw(name: str, env: Mapping[str, str] | None) -> str | None:
    value = (os.environ if env is None else env).get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def env_bool(name: str, default: bool, env: Mapping[str, str] | None = None) -> bool:
    value = _raw(name, env)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ImproperSetting(name, f"expected True or False, got {value!r}")


def env_int(
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    env: Mapping[str, str] | None = None,
) -> int:
    value = _raw(name, env)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperSetting(name, f"expected an integer, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperSetting(name, f"must be at least {minimum}, got {number}")
    if maximum is not None and number > maximum:
        raise ImproperSetting(name, f"must be at most {maximum}, got {number}")
    return number


def env_str(name: str, default: str, env: Mapping[str, str] | None = None) -> str:
    value = _raw(name, env)
    return default if value is None else value


def env_list(name: str, default: list[str], env: Mapping[str, str] | None = None) -> list[str]:
    value = _raw(name, env)
    if value is None:
        return list(default)
    items = [item.strip() for item in value.split(",")]
    if any(not item for item in items):
        raise ImproperSetting(name, f"empty item in comma-separated list {value!r}")
    return items


def env_url(
    name: str, default: str, schemes: set[str], env: Mapping[str, str] | None = None
) -> str:
    value = _raw(name, env)
    if value is None:
        return default
    parsed = urlparse(value)
    if parsed.scheme not in schemes:
        allowed = ", ".join(sorted(schemes))
        raise ImproperSetting(name, f"scheme must be one of {allowed}, got {parsed.scheme!r}")
    if parsed.scheme not in {"sqlite", "filesystem", "memory"} and not parsed.hostname:
        raise ImproperSetting(name, f"no host in {value!r}")
    return value


def env_hosts_or_networks(
    name: str, default: list[str], env: Mapping[str, str] | None = None
) -> list[str]:
    """The outbound-HTTP allow-list: host names, ``*.suffix``, addresses or CIDR ranges,
    each optionally with a port. Parsed by the sandbox's own parser, so start-up refuses
    exactly what the sandbox would refuse."""
    from apps.runtime.http import parse_allow_list

    items = env_list(name, default, env)
    try:
        parse_allow_list(items)
    except ValueError as exc:
        raise ImproperSetting(name, str(exc)) from None
    return items
