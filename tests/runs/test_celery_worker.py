"""A real Celery worker against Redis finishes an async function's step.

Runs only when CELERY_TEST_BROKER_URL is set (CI's PostgreSQL + Redis pass): the worker
is a separate process, so it must share the test database, which an in-memory SQLite
database cannot do.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from apps.runs.models import Run
from genauth_pipeline.celery import app as celery_app
from tests.conftest import Persona
from tests.runs.helpers import add_function, allow, execute

BROKER_URL = os.environ.get("CELERY_TEST_BROKER_URL", "")

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(not BROKER_URL, reason="CELERY_TEST_BROKER_URL is not set"),
]


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def real_broker() -> Iterator[str]:
    """Publish to Redis instead of running tasks eagerly, on a queue of our own."""
    queue = f"test-{uuid.uuid4().hex[:12]}"
    saved = {
        "broker_url": celery_app.conf.broker_url,
        "task_always_eager": celery_app.conf.task_always_eager,
        "task_default_queue": celery_app.conf.task_default_queue,
    }
    celery_app.conf.update(broker_url=BROKER_URL, task_always_eager=False, task_default_queue=queue)
    _reset_connections()
    yield queue
    celery_app.conf.update(**saved)
    _reset_connections()


def _reset_connections() -> None:
    # Pools are made lazily from broker_url; drop them so the next publish uses the new one.
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def worker(real_broker: str) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "DEBUG": "True",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": BROKER_URL,
        "CELERY_TASK_ALWAYS_EAGER": "False",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "genauth_pipeline",
            "worker",
            "--pool=solo",
            "-Q",
            real_broker,
            "--loglevel=warning",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait_for(predicate: Any, timeout: float = 90.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.25)
    return False


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_records_an_async_functions_step(
    alice: Persona, worker: subprocess.Popen[bytes]
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the worker process needs a database it can share (PostgreSQL)")
    add_function(alice.tenant, "gate", allow("gate"))
    add_function(alice.tenant, "notify", allow("notify"), is_async=True)
    body = execute(alice).json()
    assert body["steps"][1]["status"] == "queued"

    def step_done() -> bool:
        return Run.objects.get(id=body["run_id"]).steps[1]["status"] != "queued"

    finished = _wait_for(step_done)
    if not finished:
        worker.terminate()
        output = worker.communicate(timeout=20)[0].decode(errors="replace")
        pytest.fail(f"the worker did not record the step; its output:\n{output[-3000:]}")
    run = Run.objects.get(id=body["run_id"])
    assert run.steps[1]["status"] == "ok" and run.steps[1]["attempts"] == 1
    assert any("hello from notify" in log["message"] for log in run.steps[1]["logs"])
    assert run.status == "ok"
