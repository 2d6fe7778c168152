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

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

MIN_REDACTABLE_LENGTH = 4
# Characters json.dumps(ensure_ascii=False) escapes: a secret holding one of them
# may not appear verbatim in a dump, so the fast path below cannot be used for it.
_JSON_ESCAPED = re.compile(r'["\\\x00-\x1f]')


@dataclass(frozen=True)
class _Matcher:
    pattern: re.Pattern[str]
    names: dict[str, str]  # value -> name
    dump_safe: bool  # every value appears verbatim in a JSON dump of where it occurs


@lru_cache(maxsize=256)
def _matcher(items: tuple[tuple[str, str], ...]) -> _Matcher | None:
    names_by_value: dict[str, str] = {}
    for name, value in items:
        if isinstance(value, str) and len(value) >= MIN_REDACTABLE_LENGTH:
            names_by_value.setdefault(value, name)
    if not names_by_value:
        return None
    # Alternatives are tried in order at each position: longest first wins.
    ordered = sorted(names_by_value, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(value) for value in ordered))
    dump_safe = not any(_JSON_ESCAPED.search(value) for value in ordered)
    return _Matcher(pattern, names_by_value, dump_safe)


def _contains_none(obj: Any, matcher: _Matcher) -> bool:
    """True when one search of a JSON dump proves no secret occurs (the common case)."""
    if not matcher.dump_safe:
        return False
    try:
        dumped = json.dumps(obj, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        return False
    return matcher.pattern.search(dumped) is None


def redact(obj: Any, secrets: Mapping[str, str]) -> Any:
    """A deep copy of a JSON-like ``obj`` with every secret value replaced."""
    matcher = _matcher(tuple(sorted(secrets.items(), key=lambda item: str(item[0]))))
    if matcher is None or _contains_none(obj, matcher):
        return _copy(obj)
    pattern, names = matcher.pattern, matcher.names

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
