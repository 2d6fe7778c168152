"""One sandbox pool for the whole runtime suite (worker processes are slow to start)."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import apps.runtime as runtime


@pytest.fixture(scope="session", autouse=True)
def sandbox_pool() -> Iterator[None]:
    runtime.configure(runtime.SandboxConfig(workers=2))
    yield
    runtime.shutdown()


@pytest.fixture
def restore_pool() -> Iterator[None]:
    """For a test that configures a pool of its own: the suite's pool again afterwards."""
    yield
    runtime.configure(runtime.SandboxConfig(workers=2))


def make_job(
    *codes: str,
    tenant_id: str = "t_acme",
    trigger: str = "PRE_REGISTER",
    timeout_ms: int = 1000,
    terminate_on_timeout: bool = False,
    user: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    limits: dict[str, Any] | None = None,
) -> runtime.PipelineJob:
    return runtime.PipelineJob(
        tenant_id=tenant_id,
        trigger=trigger,
        functions=tuple(
            runtime.FunctionJob(
                id=f"fn_{i}",
                name=f"step-{i}",
                version=i + 1,
                code=code,
                timeout_ms=timeout_ms,
                terminate_on_timeout=terminate_on_timeout,
            )
            for i, code in enumerate(codes)
        ),
        user={"email": "ann@example.com", "id": "u_1"} if user is None else user,
        context={"ip": "10.0.0.1", "app": "web"} if context is None else context,
        env=env or {},
        limits=limits or {},
    )


@pytest.fixture
def run() -> Callable[..., dict[str, Any]]:
    def _run(*codes: str, **kwargs: Any) -> dict[str, Any]:
        # The result as the execute API shapes it: what these tests check.
        return runtime.run_pipeline(make_job(*codes, **kwargs)).to_wire()

    return _run


PASS_THROUGH = "async function pipe(user, context, callback) { user.touched = true; callback(null, user, context); }"


@pytest.fixture
def assert_sandbox_healthy(run: Callable[..., dict[str, Any]]) -> Callable[[], None]:
    """After a hostile run: a normal run (same tenant) must still work."""

    def _check() -> None:
        result = run(PASS_THROUGH)
        assert result["decision"] == "allow", result
        assert result["user"]["touched"] is True

    return _check


def ready_spare(pool: Any) -> Any:
    """The pool's first spare, once it is ready."""
    give_up = time.monotonic() + 30
    while time.monotonic() < give_up:
        spare = next(iter(pool._spares), None)
        if spare is not None and spare.ready.is_set():
            return spare
        time.sleep(0.01)
    raise AssertionError("no spare became ready")


def kill_serving(pool: Any, pid: int, then: set[int]) -> None:
    """SIGKILL the serving worker ``pid``; return once the pool serves with ``then``."""
    os.kill(pid, signal.SIGKILL)
    give_up = time.monotonic() + 30
    while pool.worker_pids() != then and time.monotonic() < give_up:
        time.sleep(0.01)  # its lifeline tells the pool, which puts a spare in its place
    assert pool.worker_pids() == then


def killed_mid_run(pool: Any, pid: int, timer_ms: int) -> tuple[runtime.PipelineResult, float]:
    """SIGKILL worker ``pid`` while a run awaiting a ``timer_ms`` timer is in flight there;
    that run's result and the seconds it came after the kill. (A request sent after the kill
    may find the spare already in its place: the pool learns of the end from the kernel.)"""
    waits = (
        "async function pipe(u, c, cb) {"
        f" await new Promise((r) => setTimeout(r, {timer_ms})); cb(null, u, c); }}"
    )
    job = make_job(waits, timeout_ms=timer_ms + 5000)
    with ThreadPoolExecutor(1) as executor:
        running = executor.submit(runtime.run_pipeline, job)
        give_up = time.monotonic() + 10
        while time.monotonic() < give_up:
            with pool._cond:
                if any(worker.pending for worker in pool._workers):
                    break
            time.sleep(0.005)
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        result = running.result(timeout=timer_ms / 1000 + 10)
    return result, time.monotonic() - killed


@contextlib.contextmanager
def cold_counts(pool: Any) -> Iterator[list[int]]:
    """Per reply delivered meanwhile, how many cold runs its worker had in flight (its own
    included)."""
    original = pool._deliver
    seen: list[int] = []

    def deliver(worker: Any, reply: dict[str, Any]) -> None:
        seen.append(worker.cold)
        original(worker, reply)

    pool._deliver = deliver
    try:
        yield seen
    finally:
        del pool._deliver
