"""gunicorn settings: ``gunicorn -c python:genauth_pipeline.gunicorn genauth_pipeline.wsgi``.

One worker process per core, each serving requests on a few threads (``gthread``). An execute
request spends much of its time waiting: for the database and for the sandbox process that runs
its functions. A sync worker leaves its core idle during those waits; with threads another
request uses it. Measured with ``benchmarks/execute.py`` on 2 cores (PostgreSQL, 8 clients):
the machine's idle share fell from 13-17% to 7-9%, and a 3-function pipeline's throughput
against the empty pipeline's rose from 0.69-0.82x to 0.73-0.87x (README, "Execute
performance"). At one client the thread hand-off adds a little latency.

Keep-alive is off, as with sync workers (which do not support it): every request is a new
connection, so the kernel spreads requests over the workers. With keep-alive a gthread worker
keeps the connections it accepted, and under a few busy clients one worker was often left idle.
Put a proxy (nginx) in front for clients that want keep-alive and TLS.

Each worker starts its sandbox pool right after it has forked, so the first login it serves
does not wait ~1.5 s for sandbox processes to start. Never with --preload: the pool must be
created after the fork, in the worker.

What gunicorn refuses before Django sees the request (a request line over
``limit_request_line``, a malformed header) it answers in the SPEC §6 JSON error shape, not with
its HTML page: it cannot tell an /api/ request from a console one at that point, and an IdP's
client must be able to read every error.
"""

from __future__ import annotations

import json
import os
from typing import Any

from gunicorn import util

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", os.cpu_count() or 1))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
keepalive = 0
timeout = 60  # above the whole-run budget (20 s) plus the sandbox's grace
preload_app = False
limit_request_line = 4094  # gunicorn's default, named here because the 414 message quotes it

# gunicorn's own refusals: status -> SPEC §6 code.
_ERROR_CODES = {
    400: "invalid_request",
    403: "permission_denied",
    414: "uri_too_long",
    417: "expectation_failed",
    431: "request_header_fields_too_large",
    500: "internal_error",
    501: "not_implemented",
}


def _json_error(status: int, reason: str, detail: str) -> bytes:
    if status == 414:
        message = (
            f"The request line (method, path and query string) is longer than the server's "
            f"limit of {limit_request_line} bytes; send long data in a JSON body."
        )
    elif status >= 500:
        message = "The server could not handle this request."
    else:
        message = f"{reason}: {detail}" if detail else f"{reason}."
    code = _ERROR_CODES.get(status, "invalid_request")
    body = json.dumps({"error": {"code": code, "message": message, "details": {}}}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


def _write_json_error(sock: Any, status: int, reason: str, detail: str) -> None:
    util.write_nonblock(sock, _json_error(status, reason, detail))


def sandbox_workers_per_process(cores: int, web_workers: int) -> int:
    """Sandbox processes for each web worker, so that a host runs about one per core in all.

    One sandbox process already uses every core (each isolate runs on a V8 thread of its
    own); more processes than cores only add hand-offs between them. Measured with
    ``benchmarks/execute.py`` on 2 cores and 2 web workers (README, "Execute performance")."""
    return max(1, cores // max(1, web_workers))


def post_fork(server: Any, worker: Any) -> None:
    """gunicorn writes its refusals through ``util.write_error``; in the worker, in JSON.

    Runs before the worker loads Django, so the sandbox's default process count set here
    (unless ``SANDBOX_WORKERS`` is set) is what the worker's settings read."""
    util.write_error = _write_json_error
    default = sandbox_workers_per_process(os.cpu_count() or 1, server.num_workers)
    os.environ.setdefault("SANDBOX_WORKERS", str(default))


def post_worker_init(worker: Any) -> None:
    """Record what a dead predecessor left mid-run, then warm the worker's sandbox pool
    (spawned processes, never forked ones)."""
    from django.db import connections

    from apps.runs.journal import sweep_quietly
    from apps.runtime import sandbox_ping

    sweep_quietly()
    connections.close_all()  # requests are served on other threads, with their own

    try:
        sandbox_ping()
    except Exception:  # the first request will try again and report it
        if worker is not None:
            worker.log.exception("sandbox warm-up failed")
