"""JSON on the hot path between caller, worker and isolate, through orjson.

orjson is several times faster than the standard library for the few kilobytes a run
carries each way. It refuses what JSON.stringify never produces but a caller might pass
(integers beyond 64 bits, non-string keys); those fall back to the standard library.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

# How deep run data may nest: input deeper than this is refused, a function's output too.
# Far below the limits of what carries it (orjson 1024, SQLite's JSON functions 1000).
MAX_JSON_DEPTH = 64


def dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, ensure_ascii=False).encode("utf-8")


def loads(data: bytes | str) -> Any:
    return orjson.loads(data)


def js_string_literal(value: Any) -> str:
    """``value`` as JSON text inside a JS string literal, for ``JSON.parse`` in the isolate."""
    return orjson.dumps(dumps(value).decode("utf-8")).decode("utf-8")
