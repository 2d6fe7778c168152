"""JSON documents from outside (API bodies, console requests, runner files), refusing also
what no run or record could carry.

A document is refused when it holds text PostgreSQL cannot store (U+0000) or that is not
Unicode (an unpaired surrogate, which only a ``\\u`` escape can express), a number too large
for a double (``1e400`` would silently become null; refused as it is parsed), or when it nests
deeper than run data may (``MAX_JSON_DEPTH`` below the document's own object, the limit a
function's output is held to as well). The walk that checks text and depth is skipped, at the
cost of a few byte searches, for the documents that cannot hold such things.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from apps.runtime.wire import MAX_JSON_DEPTH

# The document's own object is level 1, so run data inside it (user, context) may nest
# MAX_JSON_DEPTH levels.
MAX_DOCUMENT_DEPTH = MAX_JSON_DEPTH + 1


class UnstorableJSON(ValueError):
    """The document cannot be taken; the message says why (and where)."""


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _strict_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:20]}{'...' if len(text) > 20 else ''} is out of range")
    return value


# Built once: json.loads with keyword arguments builds a decoder per call.
_DECODER = json.JSONDecoder(parse_constant=_strict_constant, parse_float=_finite_float)


# A value's place in the document: (parent's place, key), built only as the walk descends.
_Place = tuple["_Place", str] | None


def _where(place: _Place) -> str:
    keys: list[str] = []
    while place is not None:
        place, key = place
        keys.append(key)
    keys.reverse()
    if len(keys) > 6:
        return ".".join(keys[:6]) + "..."
    return ".".join(keys) or "the top level"


def _text_problem(text: str, place: _Place, *, key: bool = False) -> str | None:
    match = _UNSTORABLE.search(text)
    if match is None:
        return None
    where = f"at {_where(place)}{', in a key' if key else ''}"
    if match.group() == "\x00":
        return f"text may not contain U+0000 ({where})"
    return f"text must be valid Unicode, not an unpaired surrogate ({where})"


def unstorable(raw: bytes, data: Any) -> str | None:
    """Why ``data`` (parsed from ``raw``) cannot be taken, or None."""
    escaped = b"\\u" in raw
    if not escaped and raw.count(b"{") + raw.count(b"[") <= MAX_DOCUMENT_DEPTH:
        return None
    stack: list[tuple[Any, int, _Place]] = [(data, 1, None)]
    while stack:
        value, depth, place = stack.pop()
        if isinstance(value, str):
            if escaped and (problem := _text_problem(value, place)):
                return problem
        elif isinstance(value, dict | list):
            if depth > MAX_DOCUMENT_DEPTH:
                return f"the document nests deeper than {MAX_DOCUMENT_DEPTH} levels (at {_where(place)})"
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if (
                    escaped
                    and isinstance(key, str)
                    and (problem := _text_problem(key, place, key=True))
                ):
                    return problem
                stack.append((item, depth + 1, (place, str(key))))
    return None


def loads_storable(raw: bytes) -> Any:
    """Parse ``raw``; raise ``UnstorableJSON`` naming the problem if it cannot be taken."""
    try:
        data = _DECODER.decode(raw.decode("utf-8"))
    except RecursionError:
        raise UnstorableJSON(
            f"the document nests deeper than {MAX_DOCUMENT_DEPTH} levels"
        ) from None
    except ValueError as exc:
        reason = str(exc)
        if "integer string conversion" in reason:
            reason = "a number has too many digits"
        raise UnstorableJSON(reason) from None
    problem = unstorable(raw, data)
    if problem:
        raise UnstorableJSON(problem)
    return data
