"""One sandbox pool for the whole runtime suite (worker processes are slow to start)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
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
