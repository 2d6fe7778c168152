from __future__ import annotations

import pytest

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
