"""A gunicorn worker killed while a run's code executes: the run is still recorded, as lost.

The respawned worker sweeps its dead predecessor's journal as it starts (post_worker_init),
so the record appears within seconds, not at the next minute's Celery beat sweep.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests.core.gunicorn_server import gunicorn, gunicorn_env

SETUP = """
from apps.core.actor import Actor
from apps.pipelines.services import function_create
from apps.tenants.services import api_key_create, tenant_create

actor = Actor.system("test")
tenant = tenant_create(slug="acme", name="Acme", actor=actor)
function_create(
    tenant=tenant, trigger="PRE_REGISTER", name="slow-webhook", actor=actor, publish=True,
    code="async function pipe(user, context, callback) {"
    " await new Promise(r => setTimeout(r, 2500)); callback(null, user, context); }",
)
print(api_key_create(tenant=tenant, name="idp", actor=actor)[1])
"""


@pytest.fixture
def server() -> Iterator[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as folder:
        env = gunicorn_env(Path(folder))
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate", "-v0"], cwd=settings.BASE_DIR, env=env, check=True)
        setup = subprocess.run(
            [*manage, "shell", "-c", SETUP],
            cwd=settings.BASE_DIR,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        key = setup.stdout.strip().splitlines()[-1]
        with gunicorn(env) as port:
            yield {"port": port, "key": key, "folder": Path(folder)}


def _execute(port: int, key: str, answers: list[Any]) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/pipelines/PRE_REGISTER/execute",
        data=json.dumps({"user": {"email": "ann@example.com"}, "context": {}}).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            answers.append(response.status)
    except (urllib.error.URLError, ConnectionError, OSError) as exc:
        answers.append(exc)


def _journal_with_a_run(folder: Path, deadline: float) -> Path:
    while time.monotonic() < deadline:
        for path in (folder / "run-journal").glob("*.jsonl"):
            if path.read_bytes().startswith(b"+"):
                return path
        time.sleep(0.05)
    raise AssertionError("no run was journaled")


def _runs(folder: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(folder / "db.sqlite3") as db:
        return db.execute("SELECT status, error_code, user_email FROM runs_run").fetchall()


def test_a_worker_killed_mid_run_leaves_a_lost_run(server: dict[str, Any]) -> None:
    answers: list[Any] = []
    client = threading.Thread(target=_execute, args=(server["port"], server["key"], answers))
    client.start()
    path = _journal_with_a_run(server["folder"], time.monotonic() + 30)
    worker_pid = int(path.stem.split("~")[1])
    os.kill(worker_pid, signal.SIGKILL)  # while the function awaits its timer
    client.join(timeout=30)
    assert answers and not isinstance(answers[0], int)  # the caller got no decision

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not _runs(server["folder"]):
        time.sleep(0.1)
    assert _runs(server["folder"]) == [("lost", "run_lost", "ann@example.com")]
    assert not path.exists()
