"""The V8 sandbox: run tenants' ``pipe(user, context, callback)`` functions. No Django here.

Public API (plain data in, plain data out)::

    configure(workers=None, fresh_isolate_per_run=False, heap_mb=64, warm_memory_mb=256,
              worker_rss_limit_mb=512, max_runs_per_worker=64, max_warm_isolates=None,
              http_allow=[])
    run_pipeline(job) -> result
    run_pipeline_metered(job) -> (result, cpu_ms)
    run_function(*, tenant_id, trigger, code, user, context, env, ...) -> result
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
process), ``pool.py`` (supervision, deadlines), ``hostcalls.py`` (the outbound-HTTP seam),
``results.py`` (shapes).
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from typing import Any

from apps.runtime.pool import Pool, PoolConfig, WorkerLost
from apps.runtime.results import DEFAULT_LIMITS, crashed_result, empty_state, shape_result

__all__ = [
    "configure",
    "run_function",
    "run_pipeline",
    "run_pipeline_metered",
    "sandbox_ping",
    "shutdown",
    "validate_code",
]

DEFAULT_TIMEOUT_MS = 3000
# Beyond the functions' own timeouts: starting a fresh isolate, compiling, shipping the result.
DEADLINE_GRACE_S = 3.0
VALIDATE_DEADLINE_S = 10.0

_lock = threading.Lock()
_pool: Pool | None = None
_config: PoolConfig | None = None


def _env_bool(name: str) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"{name} must be a boolean (1/0, true/false), got {value!r}")


def _default_config() -> PoolConfig:
    workers = os.environ.get("SANDBOX_WORKERS", "").strip()
    return PoolConfig(
        workers=int(workers) if workers else (os.cpu_count() or 1),
        fresh_isolate_per_run=_env_bool("SANDBOX_FRESH_ISOLATE_PER_RUN"),
    )


def configure(
    workers: int | None = None,
    fresh_isolate_per_run: bool = False,
    heap_mb: int = 64,
    warm_memory_mb: int = 256,
    worker_rss_limit_mb: int = 512,
    max_runs_per_worker: int = 64,
    max_warm_isolates: int | None = None,
    http_allow: list[str] | None = None,
) -> None:
    """Set the sandbox settings; a running pool is replaced on next use.

    ``max_warm_isolates`` defaults to what ``warm_memory_mb`` holds at ~2.3 MiB an isolate.
    """
    global _config
    config = PoolConfig(
        workers=workers if workers is not None else (os.cpu_count() or 1),
        fresh_isolate_per_run=fresh_isolate_per_run,
        heap_mb=heap_mb,
        warm_memory_mb=warm_memory_mb,
        max_warm_isolates=(
            max_warm_isolates if max_warm_isolates is not None else warm_isolates(warm_memory_mb)
        ),
        worker_rss_limit_mb=worker_rss_limit_mb,
        max_runs_per_worker=max_runs_per_worker,
        http_allow=list(http_allow or []),
    )
    if config.workers < 1 or heap_mb < 8 or warm_memory_mb < 0 or max_runs_per_worker < 1:
        raise ValueError(
            "workers >= 1, heap_mb >= 8, warm_memory_mb >= 0 and max_runs_per_worker >= 1"
            " are required"
        )
    with _lock:
        _config = config
        _stop_locked()


def warm_isolates(warm_memory_mb: int) -> int:
    """How many warm isolates a memory budget holds: an isolate with our prelude and frozen
    built-ins is ~2.3 MiB resident (benchmarks/tenants.py prints it), so 2 MiB each is the
    most the budget could ever admit; the budget itself evicts before that."""
    return max(8, warm_memory_mb // 2)


def _get_pool() -> Pool:
    global _pool
    with _lock:
        if _pool is not None and _pool.pid != os.getpid():
            _pool = None  # inherited through fork: its workers belong to the parent
        if _pool is None:
            _pool = Pool(_config or _default_config())
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


def _deadline_s(job: dict[str, Any]) -> float:
    limits = {**DEFAULT_LIMITS, **(job.get("limits") or {})}
    total_ms = sum(
        int(fn.get("timeout_ms") or DEFAULT_TIMEOUT_MS) for fn in job.get("functions") or []
    )
    return min(total_ms, int(limits["run_timeout_ms"])) / 1000.0 + DEADLINE_GRACE_S


def run_pipeline(job: dict[str, Any]) -> dict[str, Any]:
    """Run the job's functions in order for one trigger; see the module docstring."""
    return run_pipeline_metered(job)[0]


def run_pipeline_metered(job: dict[str, Any]) -> tuple[dict[str, Any], float]:
    """``run_pipeline``'s result and the CPU milliseconds the run's JavaScript used. A run
    whose worker died is charged its wall time: what it used is not known."""
    if not job.get("functions"):
        state = empty_state(job.get("user") or {}, job.get("context") or {})
        return shape_result(job, [], state, None, 0.0), 0.0
    deadline = _deadline_s(job)
    t0 = time.perf_counter()
    try:
        reply = _get_pool().request({"op": "run", "job": job}, deadline, str(job["tenant_id"]))
    except WorkerLost as lost:
        wall_ms = (time.perf_counter() - t0) * 1000
        return crashed_result(job, lost.step_index, deadline * 1000, lost.why), wall_ms
    return dict(reply["result"]), float(reply.get("cpu_ms") or 0.0)


def run_function(
    *,
    tenant_id: str,
    trigger: str,
    code: str,
    user: dict[str, Any],
    context: dict[str, Any],
    env: dict[str, str],
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
    terminate_on_timeout: bool = False,
    name: str = "function",
    function_id: str = "",
    version: int | None = None,
    limits: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run a single function; the result has the shape of ``run_pipeline``'s, with one step."""
    fn = {
        "id": function_id,
        "name": name,
        "version": version,
        "code": code,
        "timeout_ms": timeout_ms,
        "terminate_on_timeout": terminate_on_timeout,
    }
    return run_pipeline(
        {
            "tenant_id": tenant_id,
            "trigger": trigger,
            "functions": [fn],
            "user": user,
            "context": context,
            "env": env,
            "limits": limits or {},
        }
    )


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
