"""Runs one pipeline job inside a sandbox worker process (see worker.py).

The whole chain runs in one eval (``__gp.start``) while every function settles synchronously,
which is the common case; functions that await something cost one more eval per turn of the
event loop (``__gp.pump``). A step is cut at its own deadline (its start + its timeout, read by
the watchdog from marks the driver writes), never at the run budget. After a cut the isolate is
discarded and, unless the function has ``terminate_on_timeout``, the chain continues in a fresh
isolate from the state committed before the timed-out step.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from py_mini_racer import JSEvalException, JSOOMException, JSParseException

from apps.runtime import hostcalls, wire
from apps.runtime.isolate import EvalCut, Isolate, IsolateWedged, Watchdog
from apps.runtime.results import (
    DEFAULT_LIMITS,
    empty_state,
    shape_result,
    step_error,
)

COMPILE_TIMEOUT_S = 5.0
# How long to watch the shared buffer for a chain that only awaits settled promises before
# falling back to a pump eval; such chains finish within microseconds of the first eval.
MICROTASK_SETTLE_S = 0.002
VALIDATE_TIMEOUT_S = 1.0
_PARSE_LINE = re.compile(r"^(?:gp-[0-9a-f]+\.js|<anonymous>):(\d+): (.*)$")


@dataclass
class EngineConfig:
    heap_mb: int = 64
    fresh_isolate_per_run: bool = False
    warm_isolates_per_worker: int = 8
    http_allow: list[str] = field(default_factory=list)


class IsolateProvider:
    """Warm isolates per tenant (LRU, bounded) plus one pre-built fresh isolate.

    A fresh isolate has never run tenant code, so building it ahead of time keeps the strong
    mode cheap: the worker builds it in its idle time (``Engine.refill``), on its main thread
    and never while an eval runs, because mini-racer crashes when a context is created while
    another thread evaluates.
    """

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self._warm: OrderedDict[str, Isolate] = OrderedDict()
        self._spare: Isolate | None = None
        self._to_close: list[Isolate] = []

    def close_released(self) -> None:
        """Free isolates released by earlier runs (after the answer: freeing takes ~1.5 ms)."""
        while self._to_close:
            self._to_close.pop().close()

    @property
    def has_spare(self) -> bool:
        return self._spare is not None

    def put_spare(self, isolate: Isolate) -> None:
        if self._spare is not None:
            self._spare.close()
        self._spare = isolate

    def fresh(self) -> Isolate:
        isolate, self._spare = self._spare, None
        return isolate if isolate is not None else Isolate(self.config.heap_mb)

    def acquire(self, tenant_id: str) -> Isolate:
        if not self.config.fresh_isolate_per_run:
            isolate = self._warm.pop(tenant_id, None)
            if isolate is not None:
                return isolate
        isolate = self.fresh()
        isolate.tenant_id = tenant_id
        return isolate

    def release(self, isolate: Isolate) -> None:
        """Keep a healthy isolate warm for its tenant (never for another one)."""
        if isolate.broken:
            # Freed before answering: freeing an isolate V8 could not stop cleanly can block,
            # and a worker stuck here must miss this run's deadline, not a later run's.
            isolate.close()
            return
        if self.config.fresh_isolate_per_run or isolate.tenant_id is None:
            self._to_close.append(isolate)  # healthy but never reused: freed after the answer
            return
        self._warm[isolate.tenant_id] = isolate
        self._warm.move_to_end(isolate.tenant_id)
        while len(self._warm) > self.config.warm_isolates_per_worker:
            _, evicted = self._warm.popitem(last=False)
            evicted.close()


@functools.lru_cache(maxsize=256)
def code_key(code: str) -> str:
    """The name a function's code is compiled under (memoised: the same code arrives with
    every run of a pipeline, and hashing it each time costs more than the lookup). 256
    entries cover the warm isolates' functions; at most ~25 MiB at the 100 KiB code limit."""
    return hashlib.sha256(code.encode("utf-8")).hexdigest()[:24]


def _define_script(isolate: Isolate, key: str, code: str) -> str:
    # The factory runs at each step start, so top-level state never outlives a run; line 1 is
    # the wrapper, hence line numbers in errors are shifted by one (see describeError in JS).
    # The driver's token comes before the code: nothing the code does can read it from here.
    factory = f'function () {{\n{code}\n;return typeof pipe === "function" ? pipe : undefined;\n}}'
    script = isolate.driver("define", f'"{key}"', factory)
    return f"{script};\n//# sourceURL=gp-{key}.js\n"


def parse_syntax_error(message: str) -> dict[str, Any]:
    """Turn mini-racer's parse error text into {message, line, column} in the user's lines."""
    lines = message.splitlines()
    match = _PARSE_LINE.match(lines[0]) if lines else None
    if not match:
        return {"message": message.strip() or "Syntax error", "line": None, "column": None}
    line = int(match.group(1)) - 1
    column = None
    if len(lines) >= 3 and "^" in lines[2]:
        column = lines[2].index("^") + 1
    return {"message": match.group(2), "line": max(line, 1), "column": column}


def compile_into(isolate: Isolate, key: str, code: str) -> dict[str, Any] | None:
    """Define the function in the isolate; return a compile error or None."""
    if key in isolate.defined:
        return None
    try:
        isolate.eval(_define_script(isolate, key, code), timeout_s=COMPILE_TIMEOUT_S)
    except JSParseException as exc:
        return parse_syntax_error(str(exc))
    except EvalCut:
        return {"message": "The code took too long to compile", "line": None, "column": None}
    isolate.defined.add(key)
    return None


@dataclass
class _Run:
    job: dict[str, Any]
    limits: dict[str, Any]
    started: float
    seq: int
    on_progress: Callable[[int], None]
    records: list[dict[str, Any]] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    outcome: dict[str, Any] | None = None
    retire: bool = False
    calls: hostcalls.RunCalls = field(default_factory=hostcalls.RunCalls)

    @property
    def functions(self) -> list[dict[str, Any]]:
        return self.job["functions"]

    def run_deadline(self) -> float:
        return self.started + self.limits["run_timeout_ms"] / 1000.0

    def deadline_for(self, index: int, started_at: float) -> float:
        timeout_ms = self.functions[index].get("timeout_ms") or 3000
        return min(started_at + timeout_ms / 1000.0, self.run_deadline())


def _settles_in_microtasks(state: dict[str, Any]) -> bool:
    """Not done, but waiting on nothing the worker must provide (no host call, no timer)."""
    return not state["done"] and not state["host_calls"] and state["next_timer_in_ms"] is None


# Exercises the driver's paths (helpers, logs, an await, the callback) without tenant code.
WARM_UP_JOB: dict[str, Any] = {
    "tenant_id": "",
    "trigger": "PRE_REGISTER",
    "functions": [
        {
            "id": "",
            "name": "warm-up",
            "version": None,
            "timeout_ms": 1000,
            "code": "async function pipe(user, context, callback) {\n"
            "  user.addCustomData('k', 1); await null; log('warm');\n"
            "  callback(null, user, context);\n}",
        }
    ],
    "user": {"id": "u"},
    "context": {},
    "env": {},
}


class Engine:
    """Executes jobs; one per worker process, used from its main thread only."""

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self.provider = IsolateProvider(config)
        self._seq = 0
        self.retire = False

    def run_job(self, job: dict[str, Any], on_progress: Callable[[int], None]) -> dict[str, Any]:
        run = self._new_run(job, on_progress)
        t0 = time.perf_counter()
        isolate = self._drive(run, self.provider.acquire(str(job["tenant_id"])))
        if isolate is not None:
            self.provider.release(isolate)
        self.retire = self.retire or run.retire
        return shape_result(
            job, run.records, run.state, run.outcome, (time.perf_counter() - t0) * 1000
        )

    def refill(self) -> None:
        """Idle time: free released isolates, build the next fresh one and put our own small
        job through it.

        V8 compiles the driver's functions lazily, on first call; doing that here keeps it
        off the first tenant run the isolate serves (about 10 ms in fresh-isolate mode).
        """
        self.provider.close_released()
        if self.provider.has_spare:
            return
        isolate = Isolate(self.config.heap_mb)
        run = self._new_run(WARM_UP_JOB, lambda _index: None)
        if self._drive(run, isolate) is not isolate or run.outcome != {"kind": "ok"}:
            isolate.close()  # never expected: keep the plain isolate path
            return
        self.provider.put_spare(isolate)

    def _new_run(self, job: dict[str, Any], on_progress: Callable[[int], None]) -> _Run:
        self._seq += 1
        limits = {**DEFAULT_LIMITS, **(job.get("limits") or {})}
        run = _Run(
            job=job,
            limits=limits,
            started=time.time(),
            seq=self._seq,
            on_progress=on_progress,
        )
        run.state = empty_state(job.get("user") or {}, job.get("context") or {})
        run.calls = hostcalls.RunCalls(
            http_allow=self.config.http_allow,
            env=job.get("env") or {},
            max_http_requests=int(limits["max_http_requests"]),
        )
        return run

    def _drive(self, run: _Run, isolate: Isolate) -> Isolate | None:
        """Run the job's steps, moving to a fresh isolate after a cut; return the last one."""
        start_index = 0
        while start_index < len(run.functions) and run.outcome is None:
            start_index, isolate = self._run_segment(run, isolate, start_index)
        return isolate

    def _run_segment(self, run: _Run, isolate: Isolate, start_index: int) -> tuple[int, Any]:
        """Run steps from ``start_index``; return where to continue and the isolate to use."""
        steps = self._compile_steps(run, isolate, start_index)
        payload = {
            "seq": run.seq,
            "trigger": run.job.get("trigger", ""),
            "steps": steps,
            "start_index": start_index,
            "state": run.state,
            "limits": run.limits,
            "env": run.job.get("env") or {},
            "entropy": list(os.urandom(64)),
        }
        watchdog = Watchdog(run.seq, start_index, run.deadline_for, run.on_progress)
        last: dict[str, Any] | None = None
        try:
            raw = isolate.eval(
                isolate.driver("start", wire.js_string_literal(payload)), watchdog=watchdog
            )
            last = wire.loads(raw)
            if _settles_in_microtasks(last):
                settled = isolate.finished_checkpoint(run.seq, MICROTASK_SETTLE_S)
                last = wire.loads(settled) if settled is not None else last
            while not last["done"]:
                watchdog.fallback_index = (
                    last["running"] if last["running"] is not None else last["next"]
                )
                raw = self._turn(run, isolate, last, watchdog)
                last = wire.loads(raw)
        except (EvalCut, IsolateWedged, JSEvalException, _StepDeadline) as exc:
            return self._interrupted(run, isolate, last, watchdog, exc)
        self._commit(run, last)
        run.outcome = last["outcome"]
        return len(run.functions), isolate

    def _turn(self, run: _Run, isolate: Isolate, last: dict[str, Any], watchdog: Watchdog) -> str:
        """One turn of the event loop: host calls, then timers, then microtask results."""
        if last["host_calls"]:

            def time_left() -> float:
                return watchdog.remaining(isolate.marks)

            results = [hostcalls.perform(call, run.calls, time_left) for call in last["host_calls"]]
            return str(
                isolate.eval(
                    isolate.driver("pump", wire.js_string_literal(results)), watchdog=watchdog
                )
            )
        wait_ms = last["next_timer_in_ms"]
        if wait_ms:
            remaining = watchdog.remaining(isolate.marks)
            if wait_ms / 1000.0 >= remaining:
                time.sleep(max(remaining, 0))
                raise _StepDeadline
            time.sleep(wait_ms / 1000.0)
        return str(isolate.eval(isolate.driver("pump", "null"), watchdog=watchdog))

    def _compile_steps(self, run: _Run, isolate: Isolate, start_index: int) -> list[dict[str, Any]]:
        steps = []
        for index, fn in enumerate(run.functions):
            key = code_key(fn["code"])
            error = compile_into(isolate, key, fn["code"]) if index >= start_index else None
            steps.append({"key": key, "name": fn.get("name", ""), "compile_error": error})
        return steps

    def _commit(self, run: _Run, state: dict[str, Any]) -> None:
        run.records.extend(state["records"])
        run.state = {
            k: state[k]
            for k in (
                "user",
                "context",
                "custom_data",
                "id_set",
                "id_remove",
                "at_set",
                "at_remove",
            )
        }

    def _interrupted(
        self,
        run: _Run,
        isolate: Isolate,
        last: dict[str, Any] | None,
        watchdog: Watchdog,
        exc: Exception,
    ) -> tuple[int, Any]:
        """Record the step that was cut or crashed; decide whether the chain goes on."""
        index, started = watchdog.last_running(isolate.marks)
        committed = self._latest_state(isolate, run.seq, last)
        if committed is not None:
            self._commit(run, committed)
            index = committed["running"] if committed["running"] is not None else committed["next"]
            if committed["done"] or index >= len(run.functions):
                # The chain ended in microtasks after the last eval returned (e.g. a host call
                # answered just before the deadline), or the cut came after the last step
                # settled: it stopped nothing of this run.
                isolate.broken = True
                self.provider.release(isolate)
                run.outcome = committed["outcome"] or {"kind": "ok"}
                return len(run.functions), None
        if isinstance(exc, IsolateWedged):
            run.retire = True
        isolate.broken = True
        self.provider.release(isolate)
        fn = run.functions[index]
        duration = (time.time() - started) * 1000
        if isinstance(exc, (EvalCut, IsolateWedged, _StepDeadline)):
            return self._timed_out(run, index, fn, duration)
        run.records.append(_crash_record(index, duration, exc, self.config.heap_mb))
        run.outcome = {"kind": "error"}
        return len(run.functions), None

    def _timed_out(
        self, run: _Run, index: int, fn: dict[str, Any], duration: float
    ) -> tuple[int, Any]:
        run_budget_left = run.run_deadline() - time.time() > 0.001
        message = (
            f"The function did not finish within its timeout of {fn.get('timeout_ms') or 3000} ms"
        )
        if not run_budget_left:
            message = f"The run exceeded its total time budget of {run.limits['run_timeout_ms']} ms"
        run.records.append(
            {
                "index": index,
                "status": "timeout",
                "duration_ms": duration,
                "logs": [],
                "error": step_error(message, "TimeoutError", code="function_timeout"),
            }
        )
        if fn.get("terminate_on_timeout") or not run_budget_left:
            run.outcome = {"kind": "timeout" if run_budget_left else "run_timeout"}
            return len(run.functions), None
        if index + 1 >= len(run.functions):
            run.outcome = {"kind": "ok"}
            return len(run.functions), None
        isolate = self.provider.acquire(str(run.job["tenant_id"]))
        return index + 1, isolate

    @staticmethod
    def _latest_state(
        isolate: Isolate, seq: int, last: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        """The newest committed state: the checkpoint if it is later than the last eval's answer."""
        raw = isolate.checkpoint(seq)
        if not isolate.wedged:
            # A terminated isolate still answers; it knows steps that finished synchronously.
            with contextlib.suppress(EvalCut, IsolateWedged, JSEvalException):
                raw = str(isolate.eval(isolate.driver("snapshot"), timeout_s=0.5))
        checkpoint = json.loads(raw) if raw and raw != "null" else None
        if checkpoint is not None and checkpoint.get("seq") != seq:
            checkpoint = None  # the cut came before this run started: nothing of it is known
        if checkpoint is None:
            return last
        if last is None or len(checkpoint["records"]) > len(last["records"]):
            return checkpoint
        return last

    def validate(self, code: str) -> dict[str, Any] | None:
        """Compile ``code`` and run its top level in a throwaway isolate, bounded in time."""
        isolate = self.provider.fresh()
        try:
            key = code_key(code)
            error = compile_into(isolate, key, code)
            if error is not None:
                return error
            try:
                kind = isolate.eval(
                    isolate.driver("check", f'"{key}"'), timeout_s=VALIDATE_TIMEOUT_S
                )
            except (EvalCut, IsolateWedged):
                return {
                    "message": "The top level of the code did not finish within 1 s",
                    "line": None,
                    "column": None,
                }
            except JSEvalException as exc:
                return {"message": str(exc), "line": None, "column": None}
            if isinstance(kind, str) and kind.startswith("error:"):
                return {
                    "message": f"The top level of the code throws: {kind[6:]}",
                    "line": None,
                    "column": None,
                }
            if kind != "function":
                return {
                    "message": "The code must define a function named `pipe` (async function pipe(user, context, callback) { ... })",
                    "line": None,
                    "column": None,
                }
            return None
        finally:
            isolate.broken = True
            isolate.close()


class _StepDeadline(Exception):
    """A step's deadline passed while the worker waited for its timer."""


def _crash_record(index: int, duration: float, exc: Exception, heap_mb: int) -> dict[str, Any]:
    if isinstance(exc, JSOOMException):
        error = step_error(
            f"The function ran out of memory (limit {heap_mb} MiB)",
            "RangeError",
            code="memory_limit",
        )
    else:
        error = step_error(
            f"The sandbox failed while running the function: {exc}", "Error", code="sandbox_error"
        )
    return {"index": index, "status": "error", "duration_ms": duration, "logs": [], "error": error}
