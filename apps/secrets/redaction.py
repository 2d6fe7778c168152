"""Replacing secret values in run data with ``[REDACTED:NAME]``.

Applied to everything a run stores or returns: logs, errors, ``user``/``context``,
claims and custom data. Rules:

- Only exact occurrences of a value are found; a value a function transformed
  (base64, split, reversed, hashed) is not recognisable and is not redacted.
- Values shorter than ``MIN_REDACTABLE_LENGTH`` characters are ignored: replacing
  every "a" or "42" would destroy data without protecting anything. ``env_set``
  refuses such secrets, so this only matters for callers passing other mappings.
- Longer values win: all values are matched in one pass, longest first, so a
  secret that contains another is replaced whole, and a replacement marker is never
  redacted again.
- Dict keys are redacted too. A number whose decimal form contains a secret is
  replaced by the redacted string (a numeric PIN must not leak through a number).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MIN_REDACTABLE_LENGTH = 4


def _pattern(secrets: Mapping[str, str]) -> tuple[re.Pattern[str], dict[str, str]] | None:
    names_by_value: dict[str, str] = {}
    for name in sorted(secrets):
        value = secrets[name]
        if isinstance(value, str) and len(value) >= MIN_REDACTABLE_LENGTH:
            names_by_value.setdefault(value, name)
    if not names_by_value:
        return None
    # Alternatives are tried in order at each position: longest first wins.
    ordered = sorted(names_by_value, key=len, reverse=True)
    return re.compile("|".join(re.escape(value) for value in ordered)), names_by_value


def redact(obj: Any, secrets: Mapping[str, str]) -> Any:
    """A deep copy of a JSON-like ``obj`` with every secret value replaced."""
    compiled = _pattern(secrets)
    if compiled is None:
        return _copy(obj)
    pattern, names = compiled

    def replace(text: str) -> str:
        return pattern.sub(lambda match: f"[REDACTED:{names[match.group(0)]}]", text)

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return replace(value)
        if isinstance(value, dict):
            return {walk(key): walk(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [walk(item) for item in value]
        if isinstance(value, int | float) and not isinstance(value, bool):
            text = str(value)
            return replace(text) if pattern.search(text) else value
        return value

    return walk(obj)


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_copy(item) for item in value]
    return value
