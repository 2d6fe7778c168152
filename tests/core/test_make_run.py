"""`make run` serves, and Ctrl-C stops all of it: the web server and the Celery worker.

Its recipe's shell stopped the group with ``kill 0`` from a trap on EXIT, INT and TERM; the
TERM it sent itself ran the trap again, each time signalling the group anew, until the shell
crashed (make: "Segmentation fault", thousands of "Warm shutdown" lines) and left the Celery
worker running.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from django.conf import settings

from tests.core.gunicorn_server import free_port


def _serves(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _group(pgid: int) -> list[str]:
    found = subprocess.run(["pgrep", "-g", str(pgid)], capture_output=True, text=True)
    return found.stdout.split()


def test_ctrl_c_stops_the_server_and_the_celery_worker(tmp_path: Path) -> None:
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DJANGO_SETTINGS_MODULE", "REDIS_URL", "CELERY_BROKER_URL"}
    }
    env.update(
        VAR_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path}/dev.sqlite3",
        CELERY_BROKER_URL="memory://",
    )
    log = tmp_path / "make-run.log"
    with log.open("wb") as out:
        make = subprocess.Popen(
            ["make", "run", f"PORT={port}"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a group of its own, as a terminal's foreground job
            # As typed in a terminal: SIGINT not ignored, whatever this process inherited.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    try:
        deadline = time.monotonic() + 120
        while not _serves(port):
            assert make.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)

        os.killpg(make.pid, signal.SIGINT)  # what Ctrl-C sends the foreground group
        make.wait(timeout=30)
        deadline = time.monotonic() + 30
        while _group(make.pid) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _group(make.pid) == [], "processes of `make run` outlived Ctrl-C"
        text = log.read_text()
        assert "Segmentation fault" not in text
        # The worker is asked to stop by Ctrl-C and once more by the recipe's trap.
        assert text.count("Warm shutdown") <= 2, text[-3000:]
        assert not _serves(port)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(make.pid, signal.SIGKILL)
