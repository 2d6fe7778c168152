"""gunicorn settings: ``gunicorn -c python:genauth_pipeline.gunicorn genauth_pipeline.wsgi``.

Sync workers (they balanced load best in our measurements), one per core by default, and each
worker starts its sandbox pool right after it has forked, so the first login it serves does
not wait ~1.5 s for sandbox processes to start. Never with --preload: the pool must be created
after the fork, in the worker.
"""

from __future__ import annotations

import os
from typing import Any

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", os.cpu_count() or 1))
worker_class = "sync"
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
