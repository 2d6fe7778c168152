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
"""

from __future__ import annotations

import os
from typing import Any

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", os.cpu_count() or 1))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
keepalive = 0
timeout = 60  # above the whole-run budget (20 s) plus the sandbox's grace
preload_app = False


def post_worker_init(worker: Any) -> None:
    """Warm the worker's sandbox pool (spawned processes, never forked ones)."""
    from apps.runtime import sandbox_ping

    try:
        sandbox_ping()
    except Exception:  # the first request will try again and report it
        if worker is not None:
            worker.log.exception("sandbox warm-up failed")
