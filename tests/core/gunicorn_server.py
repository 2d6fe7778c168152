"""A real gunicorn with the product's settings, on a free loopback port and its own SQLite."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

COMMAND = ["-c", "python:genauth_pipeline.gunicorn", "genauth_pipeline.wsgi"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def gunicorn_env(folder: Path) -> dict[str, str]:
    """One worker on one thread with one sandbox process; data in ``folder``."""
    env = {
        **os.environ,
        "DEBUG": "True",
        "DATABASE_URL": f"sqlite:///{folder}/db.sqlite3",
        "VAR_DIR": str(folder),
        "GUNICORN_BIND": f"127.0.0.1:{free_port()}",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_THREADS": "1",
        "SANDBOX_WORKERS": "1",
        "PYTHONPATH": str(settings.BASE_DIR),
    }
    env.pop("REDIS_URL", None)  # the worker's local-memory cache is enough for one worker
    return env


def _wait_for(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "gunicorn exited"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("gunicorn did not start")


@contextmanager
def gunicorn(env: dict[str, str]) -> Iterator[int]:
    """Serve until the block ends; yields the port."""
    port = int(env["GUNICORN_BIND"].rsplit(":", 1)[1])
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", *COMMAND],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(port, process)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)
