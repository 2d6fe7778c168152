"""JSON documents from outside (API bodies, console requests, runner files), refusing also
what no run or record could carry.

orjson parses them, and refuses on its own what is not JSON or cannot be carried: NaN and
Infinity, numbers beyond a double (``1e400`` would otherwise become null), text that is not
Unicode (an unpaired surrogate such as ``"\\ud800"``, invalid UTF-8). Its refusals are only
worded here as before, saying where when it does not. What orjson takes but no run may hold is
checked after it: text with U+0000 (PostgreSQL cannot store it) and nesting deeper than run
data may (``MAX_JSON_DEPTH`` below the document's own object; orjson's own limit is 1024). The
walk that checks those is skipped, at the cost of a few byte searches, for the documents that
cannot hold them. orjson reads integers beyond 64 bits as the double nearest them; a document
that may hold one (a run of 19 digits anywhere) is read again by the standard library, which
keeps them exact, so that what is stored and answered is what was sent.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

from apps.runtime.wire import MAX_JSON_DEPTH

# The document's own object is level 1, so run data inside it (user, context) may nest
# MAX_JSON_DEPTH levels.
MAX_DOCUMENT_DEPTH = MAX_JSON_DEPTH + 1


class UnstorableJSON(ValueError):
    """The document cannot be taken; the message says why (and where)."""


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_NUMBER = re.compile(r"-?[0-9][0-9.eE+-]*")
_CONSTANT = re.compile(r"-?(?:NaN|Infinity)")
# 19 digits in a row: what an integer beyond 64 bits needs (possibly inside a string, which
# only costs the second reading).
_LONG_DIGITS = re.compile(rb"[0-9]{19}")


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
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise UnstorableJSON(_refusal(raw, exc)) from None
    if _LONG_DIGITS.search(raw):
        # orjson took the document, so it is valid JSON with no NaN or Infinity: the standard
        # library reads the same values, with integers exact.
        data = json.loads(raw)
    problem = unstorable(raw, data)
    if problem:
        raise UnstorableJSON(problem)
    return data


def _refusal(raw: bytes, exc: orjson.JSONDecodeError) -> str:
    """orjson's refusal in our words (``exc.pos`` counts characters of the decoded text)."""
    text, pos = exc.doc, exc.pos
    if "infinity when parsed as double" in exc.msg and (number := _NUMBER.match(text, pos)):
        token = number.group()
        if token.lstrip("-").isdigit():
            return "a number has too many digits"
        return f"the number {token[:20]}{'...' if len(token) > 20 else ''} is out of range"
    constant = _CONSTANT.match(text, max(pos - 1, 0)) or _CONSTANT.match(text, pos)
    if constant:
        return f"{constant.group()} is not a JSON value"
    # Read again by the standard library, which words syntax errors as before and takes
    # unpaired surrogates and deep nesting, so that the walk can say where they are.
    try:
        problem = unstorable(raw, json.loads(raw))
    except RecursionError:
        problem = f"the document nests deeper than {MAX_DOCUMENT_DEPTH} levels"
    except ValueError as again:
        problem = str(again)
    return problem or str(exc)
