"""Host calls: requests from JS to the sandbox worker's Python. THE SEAM FOR OUTBOUND HTTP.

JS side (prelude.js): ``hostCall(op, payload)`` queues ``{id, op, payload}`` and returns a
promise. ``fetch(url, init)`` and ``axios.*`` build an ``http`` request
``{url, method, headers, body, redirect, timeout_ms}`` and expect
``{status, status_text, headers, body, url, redirected}`` back. Calls queued by a function
that has already finished are dropped in JS (with a warning in its logs), never sent.
Python side (engine.Engine._turn): when the chain waits, each queued call goes through
``perform`` below, one after the other, and the results are delivered with
``__gp.pump(results)``, resolving (``value``) or rejecting (``{"error": {"message", "code"}}``)
the promises; ``log`` entries go to the calling step's logs. Time spent here counts against the
calling step's timeout: each call gets the step's remaining time as its budget.

``http`` (apps/runtime/http.py) applies SPEC section 5: ``max_http_requests`` per run (counted
here, across the whole run, including refused requests), 5 s each, 1 MiB per response, no
private/loopback/link-local addresses unless the operator's ``http_allow`` names them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from apps.runtime import http

# A request ends this long before the calling function's deadline, so that the function can
# still handle the rejection (log it, fail open) instead of being cut as a timeout.
HANDLING_MARGIN_S = 0.05


class HostCallError(Exception):
    def __init__(self, message: str, code: str = "host_call_failed") -> None:
        super().__init__(message)
        self.code = code


@dataclass
class RunCalls:
    """What the host calls of one run share."""

    http_allow: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    max_http_requests: int = 10
    http_requests: int = 0


@dataclass
class Call:
    payload: dict[str, Any]
    run: RunCalls
    time_left_s: Callable[[], float]
    logs: list[dict[str, str]] = field(default_factory=list)


def _http(call: Call) -> dict[str, Any]:
    run = call.run
    if run.http_requests >= run.max_http_requests:
        call.logs.append(
            {
                "level": "warn",
                "message": f"HTTP request not sent: limit of {run.max_http_requests} per run reached",
            }
        )
        raise HostCallError(
            f"This run already made {run.max_http_requests} HTTP requests, the most allowed per run; "
            "this request was not sent.",
            code="http_request_limit",
        )
    run.http_requests += 1
    try:
        allow = http.parse_allow_list(run.http_allow)
    except ValueError as exc:  # fail closed, and say why
        raise HostCallError(
            f"Outbound HTTP is misconfigured on this server (http_allow: {exc}); ask the operator.",
            code="http_misconfigured",
        ) from None
    try:
        return http.fetch(
            call.payload,
            allow=allow,
            time_left_s=call.time_left_s() - HANDLING_MARGIN_S,
            env=run.env,
            log=call.logs,
        )
    except http.HttpError as exc:
        raise HostCallError(str(exc), code=exc.code) from None


HANDLERS: dict[str, Callable[[Call], Any]] = {"http": _http}


def perform(
    call: dict[str, Any], run: RunCalls, time_left_s: Callable[[], float]
) -> dict[str, Any]:
    """Run one host call; always answers (errors become a rejection in JS)."""
    handler = HANDLERS.get(str(call.get("op")))
    scope = Call(payload=call.get("payload") or {}, run=run, time_left_s=time_left_s)
    answer: dict[str, Any] = {"id": call["id"]}
    try:
        if handler is None:
            raise HostCallError(f"Unknown host call {call.get('op')!r}", code="unknown_host_call")
        answer["value"] = handler(scope)
    except HostCallError as exc:
        answer["error"] = {"message": str(exc), "code": exc.code}
    except Exception:  # a bug in a handler must not kill the worker, nor show its internals
        answer["error"] = {
            "message": "The request failed because of an error in the sandbox host",
            "code": "host_call_failed",
        }
    if scope.logs:
        answer["log"] = scope.logs
    return answer
