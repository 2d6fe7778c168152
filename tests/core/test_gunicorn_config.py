from __future__ import annotations

from types import SimpleNamespace

import pytest
from gunicorn import util

import apps.runtime as runtime
from genauth_pipeline import gunicorn as config


def test_gunicorn_serves_each_worker_on_threads_without_keep_alive_or_preload() -> None:
    assert config.worker_class == "gthread"
    assert config.threads >= 2
    assert config.keepalive == 0  # every request a new connection: spread over the workers
    assert config.preload_app is False
    assert config.workers >= 1


@pytest.mark.django_db
def test_a_forked_worker_starts_its_sandbox_pool_before_its_first_request() -> None:
    runtime.shutdown()
    assert runtime._pool is None
    config.post_worker_init(None)
    assert runtime._pool is not None
    assert runtime.sandbox_ping() >= 0


def test_a_host_runs_about_one_sandbox_process_per_core_across_its_web_workers() -> None:
    assert config.sandbox_workers_per_process(cores=2, web_workers=2) == 1
    assert config.sandbox_workers_per_process(cores=8, web_workers=2) == 4
    assert config.sandbox_workers_per_process(cores=2, web_workers=4) == 1
    assert config.sandbox_workers_per_process(cores=1, web_workers=0) == 1


def test_a_forked_worker_takes_the_sandbox_process_count_unless_it_is_set(monkeypatch) -> None:
    monkeypatch.setattr(util, "write_error", util.write_error)
    monkeypatch.setattr(config.os, "cpu_count", lambda: 4)
    monkeypatch.delenv("SANDBOX_WORKERS", raising=False)
    config.post_fork(SimpleNamespace(num_workers=2), None)
    assert config.os.environ["SANDBOX_WORKERS"] == "2"

    monkeypatch.setenv("SANDBOX_WORKERS", "3")  # the operator's choice stands
    config.post_fork(SimpleNamespace(num_workers=2), None)
    assert config.os.environ["SANDBOX_WORKERS"] == "3"
