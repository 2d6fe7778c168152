"""The V8 sandbox: run tenants' ``pipe(user, context, callback)`` functions. No Django here.

Public API (typed objects in and out, see jobs.py; plain data inside the sandbox)::

    configure(SandboxConfig(...))  (config.py; Django hands over the one its settings read)
    run_pipeline(PipelineJob) -> PipelineResult
    run_pipeline_metered(PipelineJob) -> (PipelineResult, cpu_ms)
    run_function(FunctionJob, *, tenant_id, trigger, user, context, env, limits) -> PipelineResult
    validate_code(code) -> None | {"message", "line", "column"}
    sandbox_ping() -> float (ms)
    shutdown()

Result semantics worth knowing:

- Steps after a deny, an error or a terminating timeout are **not listed** in ``steps``.
- A timeout without ``terminate_on_timeout`` is a ``timeout`` step; the next function gets the
  objects from before the timed-out one, and the run goes on.
- Whatever a failed or timed-out step produced (objects, custom data, claims, pending timers)
  is discarded; its logs are kept when the isolate could still be read.
- If the worker process dies (V8 fatal OOM, a signal) or misses the hard deadline, the step in
  flight is an ``error`` with code ``sandbox_crashed`` and the run is denied with that code;
  earlier steps are listed as ``ok`` without logs (their output died with the process) and the
  returned objects are the input.

Layout: ``prelude.js``/``polyfills.js`` (globals and the JS driver), ``isolate.py`` (one isolate,
cancellable eval, watchdog), ``engine.py`` (a job inside a worker), ``worker.py`` (the worker
process), ``pool.py`` (supervision, deadlines), ``forkserver.py`` and ``template.py`` (workers
forked from a template process), ``hostcalls.py`` (the outbound-HTTP seam),
``jobs.py`` (the typed job and result), ``results.py`` (their wire shapes inside the sandbox),
``config.py`` (settings).
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections.abc import Mapping
from typing import Any

from apps.runtime.config import SandboxConfig
from apps.runtime.jobs import (
    DEFAULT_TIMEOUT_MS,
    FunctionJob,
    PipelineJob,
    PipelineResult,
    StepResult,
)
from apps.runtime.pool import Pool, WorkerLost
from apps.runtime.results import DEFAULT_LIMITS, crashed_result, empty_state, shape_result

__all__ = [
    "DEFAULT_TIMEOUT_MS",
    "FunctionJob",
    "PipelineJob",
    "PipelineResult",
    "SandboxConfig",
    "StepResult",
    "configure",
    "run_function",
    "run_pipeline",
    "run_pipeline_metered",
    "sandbox_ping",
    "shutdown",
    "validate_code",
]

# Beyond the functions' own timeouts: starting a fresh isolate, compiling, shipping the result.
DEADLINE_GRACE_S = 3.0
VALIDATE_DEADLINE_S = 10.0

_lock = threading.Lock()
_pool: Pool | None = None
_config: SandboxConfig | None = None


def configure(config: SandboxConfig) -> None:
    """Set the sandbox settings; a running pool is replaced on next use."""
    global _config
    with _lock:
        _config = config
        _stop_locked()


def _get_pool() -> Pool:
    global _pool
    with _lock:
        if _pool is not None and _pool.pid != os.getpid():
            _pool = None  # inherited through fork: its workers belong to the parent
        if _pool is None:
            _pool = Pool(_config or SandboxConfig())
        return _pool


def _stop_locked() -> None:
    global _pool
    pool, _pool = _pool, None
    if pool is not None and pool.pid == os.getpid():
        pool.shutdown()


def shutdown() -> None:
    """Stop this process's worker processes (they restart on next use)."""
    with _lock:
        _stop_locked()


atexit.register(shutdown)


def _deadline_s(job: PipelineJob) -> float:
    run_timeout_ms = int(job.limits.get("run_timeout_ms", DEFAULT_LIMITS["run_timeout_ms"]))
    total_ms = sum(fn.timeout_ms or DEFAULT_TIMEOUT_MS for fn in job.functions)
    return min(total_ms, run_timeout_ms) / 1000.0 + DEADLINE_GRACE_S


def run_pipeline(job: PipelineJob) -> PipelineResult:
    """Run the job's functions in order for one trigger; see the module docstring."""
    return run_pipeline_metered(job)[0]


def run_pipeline_metered(job: PipelineJob) -> tuple[PipelineResult, float]:
    """``run_pipeline``'s result and the CPU milliseconds the run's JavaScript used. A run
    whose worker died is charged its wall time: what it used is not known."""
    wire_job = job.to_wire()
    if not job.functions:
        state = empty_state(job.user, job.context)
        return PipelineResult.from_wire(shape_result(wire_job, [], state, None, 0.0)), 0.0
    deadline = _deadline_s(job)
    t0 = time.perf_counter()
    try:
        reply = _get_pool().request({"op": "run", "job": wire_job}, deadline, job.tenant_id)
    except WorkerLost as lost:
        wall_ms = (time.perf_counter() - t0) * 1000
        crashed = crashed_result(wire_job, lost.step_index, deadline * 1000, lost.why)
        return PipelineResult.from_wire(crashed), wall_ms
    return PipelineResult.from_wire(reply["result"]), float(reply.get("cpu_ms") or 0.0)


def run_function(
    function: FunctionJob,
    *,
    tenant_id: str,
    trigger: str,
    user: dict[str, Any],
    context: dict[str, Any],
    env: Mapping[str, str],
    limits: Mapping[str, Any] | None = None,
) -> PipelineResult:
    """Run a single function; the result has the shape of ``run_pipeline``'s, with one step."""
    job = PipelineJob(
        tenant_id=tenant_id,
        trigger=trigger,
        functions=(function,),
        user=user,
        context=context,
        env=env,
        limits=limits or {},
    )
    return run_pipeline(job)


def validate_code(code: str) -> dict[str, Any] | None:
    """None if ``code`` parses and its top level defines ``pipe``; else the problem and where."""
    try:
        reply = _get_pool().request({"op": "validate", "code": code}, VALIDATE_DEADLINE_S)
    except WorkerLost as lost:
        return {
            "message": f"The code could not be checked: {lost.why}",
            "line": None,
            "column": None,
        }
    result = reply["result"]
    return None if result is None else dict(result)


def sandbox_ping() -> float:
    """Milliseconds for a trivial round trip through the pool; raises if the sandbox is down."""
    t0 = time.perf_counter()
    _get_pool().request({"op": "ping"}, 5.0)
    return (time.perf_counter() - t0) * 1000
