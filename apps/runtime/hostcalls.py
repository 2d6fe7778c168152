"""Host calls: requests from JS to the sandbox worker's Python. THE SEAM FOR OUTBOUND HTTP.

JS side (prelude.js): ``hostCall(op, payload)`` queues ``{id, op, payload}`` and returns a
promise. ``fetch(url, init)`` and ``axios.*`` build an ``http`` request
``{url, method, headers, body}`` and expect ``{status, status_text, headers, body, url}`` back.
Python side (engine.Engine._turn): when the chain waits, each queued call goes through
``perform`` below and the results are delivered with ``__gp.pump(results)``, resolving (value)
or rejecting (``{"error": {"message", "code"}}``) the promises. Time spent here counts against
the calling step's timeout.

To enable outbound HTTP, implement ``_http`` (limits of SPEC section 5: requests per run,
5 s each, 1 MiB per response, refuse private/loopback/link-local addresses unless the operator's
``http_allow`` list names them). Nothing else needs to change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class HostCallError(Exception):
    def __init__(self, message: str, code: str = "host_call_failed") -> None:
        super().__init__(message)
        self.code = code


def _http(payload: dict[str, Any], http_allow: list[str]) -> dict[str, Any]:
    raise HostCallError(
        "Outbound HTTP is not enabled in this sandbox yet: fetch() and axios cannot make requests.",
        code="http_not_enabled",
    )


HANDLERS: dict[str, Callable[[dict[str, Any], list[str]], Any]] = {"http": _http}


def perform(call: dict[str, Any], http_allow: list[str]) -> dict[str, Any]:
    """Run one host call; always answers (errors become a rejection in JS)."""
    handler = HANDLERS.get(str(call.get("op")))
    try:
        if handler is None:
            raise HostCallError(f"Unknown host call {call.get('op')!r}", code="unknown_host_call")
        return {"id": call["id"], "value": handler(call.get("payload") or {}, http_allow)}
    except HostCallError as exc:
        return {"id": call["id"], "error": {"message": str(exc), "code": exc.code}}
    except Exception as exc:  # a bug in a handler must not kill the worker
        return {"id": call["id"], "error": {"message": f"Host call failed: {exc}", "code": "host_call_failed"}}
