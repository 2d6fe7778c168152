"""Runs one pipeline job inside a sandbox worker process (see worker.py).

A run is one chain of tasks queued on the isolate at once (``Isolate.eval_chain``):
``__gp.start`` runs the first step, one ``__gp.next`` per later step starts it once the
previous step and every microtask it queued are done, and ``__gp.finish`` hands back the state.
While every function settles synchronously, which is the common case, that is the whole run,
and ``finish`` also proves that nothing of it still runs. Functions that await something cost
one more chain per turn of the event loop: ``__gp.pump`` (timers due, host-call results)
and a ``finish`` behind it, which sees what the microtasks it queued did, and proves the run
idle if they ended it. A step is cut at its own deadline
(its start + its timeout, read by the watchdog from marks the driver writes), never at the run
budget. After a cut the isolate is discarded and, unless the function has
``terminate_on_timeout``, the chain continues in a fresh isolate from the state committed
before the timed-out step.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import json
import os
import re
import resource
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from py_mini_racer import JSEvalException, JSOOMException, JSParseException

from apps.runtime import flavour, hostcalls, wire
from apps.runtime.channel import hand_off_reading
from apps.runtime.config import EngineConfig
from apps.runtime.fairshare import HOT_NICE, LONG_RUN_CPU_S, TenantLoad
from apps.runtime.isolate import EvalCut, Isolate, IsolateWedged, Watchdog, init_v8
from apps.runtime.results import (
    DEFAULT_LIMITS,
    empty_state,
    shape_result,
    step_error,
)

COMPILE_TIMEOUT_S = 5.0
VALIDATE_TIMEOUT_S = 1.0
# Before a run's result is taken, an idle isolate answers a trivial eval in well under a
# millisecond; one that does not within this time is still running the run's leftover code (a
# loop after callback()) and is freed, which terminates that code. Most runs need no such
# eval: the driver's finish entry, queued behind the steps, is the proof (its wait for a
# finished step's leftover code is the watchdog's, Watchdog.LEFTOVER_GRACE_S).
QUIESCE_TIMEOUT_S = 0.05
# For a hot tenant (fairshare.py) the proof gets much less time: code left running after
# callback() then burns 5 ms, not 50, and a slow answer only costs that tenant a new isolate.
HOT_QUIESCE_TIMEOUT_S = 0.005
# What a run that left code running is charged on top of what it measurably used.
LEFTOVER_CHARGE_S = QUIESCE_TIMEOUT_S
# Freeing an isolate that runs JavaScript between tasks takes a few milliseconds; one that
# takes longer is held by a built-in V8 cannot interrupt.
FREE_WEDGED_WAIT_S = 0.25
_PARSE_LINE = re.compile(r"^(?:gp-[0-9a-f]+\.js|<anonymous>):(\d+): (.*)$")


class IsolateProvider:
    """Warm isolates per tenant (LRU, bounded by memory) plus a stock of pre-built fresh ones.

    Thread-safe. A fresh isolate has never run tenant code; ``Engine.refill`` keeps
    ``spare_isolates`` of them ready and warmed up in the worker's idle time.
    """

    def __init__(self, config: EngineConfig, memory: MemoryBudget) -> None:
        self.config = config
        self.memory = memory
        self._lock = threading.Lock()
        self._spares_low = threading.Condition(self._lock)
        self._nudged = False
        self._warm: OrderedDict[str, list[Isolate]] = OrderedDict()
        self._spares: list[Isolate] = []
        # The stock to keep: the start-up stock until it is first drawn down to the usual one.
        self._spares_target = max(config.spare_isolates, config.boot_spare_isolates)
        self.warm_count = 0
        # Builds isolates for hot tenants (fairshare.py) at HOT_NICE: its own thread runs at
        # that priority, and an isolate's V8 thread inherits the priority of the thread that
        # creates it. Spares, built at the normal priority, are kept for the others. Started
        # now: no thread is born later while isolates are being created. V8 is initialised
        # first: on a CPU with memory protection keys (PKU) it takes a key for its protected
        # memory and grants it to the initialising thread, and threads inherit that grant
        # only when born after it. An isolate built from a thread born before (and its V8
        # thread) crashed the process in a full GC (SIGSEGV, a protection-key fault
        # in ExternalPointerTable::EvacuateAndSweepAndCompact).
        init_v8()
        self._hot_builder = ThreadPoolExecutor(
            1,
            thread_name_prefix="hot-builder",
            initializer=os.setpriority,
            initargs=(os.PRIO_PROCESS, 0, HOT_NICE),
        )
        self._hot_builder.submit(lambda: None).result()

    def spares_wanted(self, timeout_s: float) -> bool:
        """Whether a spare is missing, once one is, ``timeout_s`` passed or ``nudge`` was
        called (since the last call)."""
        with self._lock:
            if len(self._spares) < self._spares_target:
                return True
            if timeout_s > 0 and not self._nudged:
                self._spares_low.wait(timeout_s)
            self._nudged = False
            return len(self._spares) < self._spares_target

    def nudge(self) -> None:
        """End a ``spares_wanted`` wait, or the next one, at once."""
        with self._lock:
            self._nudged = True
            self._spares_low.notify_all()

    def put_spare(self, isolate: Isolate) -> None:
        with self._lock:
            if len(self._spares) < self._spares_target:
                self._spares.append(isolate)
                return
        isolate.close()

    def fresh(self) -> Isolate:
        isolate = self.spare()
        return isolate if isolate is not None else Isolate(self.config.heap_mb)

    def spare(self) -> Isolate | None:
        """A pre-built fresh isolate, if one is in stock."""
        with self._lock:
            isolate = self._spares.pop() if self._spares else None
            if len(self._spares) < self.config.spare_isolates:
                self._spares_target = self.config.spare_isolates
            self._spares_low.notify()
        return isolate

    def take_idle(self, tenant_id: str) -> Isolate | None:
        """One of the tenant's warm isolates, if one waits here."""
        with self._lock:
            stack = self._warm.get(tenant_id)
            if not stack:
                return None
            self.warm_count -= 1
            isolate = stack.pop()
            if not stack:
                del self._warm[tenant_id]
            return isolate

    def fresh_hot(self) -> Isolate:
        """A new isolate whose building and running both happen at HOT_NICE."""
        hand_off_reading()
        isolate = self._hot_builder.submit(Isolate, self.config.heap_mb).result()
        isolate.nice = HOT_NICE
        return isolate

    def acquire(self, tenant_id: str, *, hot: bool = False) -> Isolate:
        if not self.config.fresh_isolate_per_run:
            warm = self.take_idle(tenant_id)
            if warm is not None:
                return warm
        isolate = self.fresh_hot() if hot else self.fresh()
        isolate.tenant_id = tenant_id
        return isolate

    def release(self, isolate: Isolate) -> None:
        """Keep a healthy isolate warm for its tenant (never for another one)."""
        if isolate.broken or self.config.fresh_isolate_per_run or isolate.tenant_id is None:
            isolate.close()
            return
        with self._lock:
            self._warm.setdefault(isolate.tenant_id, []).append(isolate)
            self._warm.move_to_end(isolate.tenant_id)
            self.warm_count += 1
        if self.warm_count > self.config.max_warm_isolates:
            self.evict(self.warm_count - self.config.max_warm_isolates)
        if self.memory.over() and self.memory.may_evict():
            self.evict(max(1, self.warm_count // 16))

    def evict(self, count: int) -> None:
        """Free the ``count`` least recently used warm isolates."""
        evicted = []
        with self._lock:
            while count > 0 and self._warm:
                tenant_id, stack = next(iter(self._warm.items()))
                evicted.append(stack.pop(0))
                if not stack:
                    del self._warm[tenant_id]
                self.warm_count -= 1
                count -= 1
        for isolate in evicted:
            isolate.close()

    def tenants(self) -> int:
        with self._lock:
            return len(self._warm)

    def idle_for(self, tenant_id: str) -> int:
        """How many warm isolates of the tenant wait here for a run."""
        with self._lock:
            return len(self._warm.get(tenant_id, ()))


class MemoryBudget:
    """Resident memory above the worker's level once ready, read at most every ``every_s``
    (reading /proc on every run costs more than a fast run itself).

    Over budget, warm isolates are evicted a batch at a time, at most one batch per
    EVICT_EVERY_S: resident memory does not shrink at once when isolates are freed (the
    allocator keeps some), and evicting on every run while it stays high would make every run
    build a new isolate. Memory that keeps growing is the worker ceiling's business (the
    worker is retired)."""

    EVICT_EVERY_S = 1.0

    def __init__(self, budget_mb: int, every_s: float = 0.1) -> None:
        self.budget_mb = budget_mb
        self.every_s = every_s
        self.base_mb = rss_mb()
        self._next = 0.0
        self._resident_mb = self.base_mb
        self._lock = threading.Lock()
        self._next_eviction = 0.0

    def may_evict(self) -> bool:
        """True at most once per EVICT_EVERY_S."""
        now = time.monotonic()
        with self._lock:
            if now < self._next_eviction:
                return False
            self._next_eviction = now + self.EVICT_EVERY_S
            return True

    def resident_mb(self) -> float:
        """The process's resident memory, as last read (at most ``every_s`` ago)."""
        now = time.monotonic()
        if now >= self._next:
            self._next = now + self.every_s
            self._resident_mb = rss_mb()
        return self._resident_mb

    def over(self) -> bool:
        return self.resident_mb() - self.base_mb > self.budget_mb


def rss_mb() -> float:
    with open("/proc/self/statm", "rb") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / (1024 * 1024)


@functools.lru_cache(maxsize=256)
def code_key(code: str) -> str:
    """The name a function's code is compiled under (memoised: the same code arrives with
    every run of a pipeline, and hashing it each time costs more than the lookup). 256
    entries cover the warm isolates' functions; at most ~25 MiB at the 100 KiB code limit."""
    return hashlib.sha256(code.encode("utf-8")).hexdigest()[:24]


def _wrapped_body(code: str, rule_name: str | None) -> str:
    """The function body the code runs as. An Auth0 Rule stored as an anonymous function
    expression is returned from it; any other script is run and asked what it defined: its
    `pipe`, and the named function that is the whole script (``rule_name``, a rule too)."""
    if rule_name == "":
        return f"return {{rule: (\n{flavour.strip_rule_tail(code)}\n)}};"
    rule = (
        f'typeof {rule_name} === "function" ? {rule_name} : undefined' if rule_name else "undefined"
    )
    return (
        f'\n{code}\n;return {{pipe: typeof pipe === "function" ? pipe : undefined, rule: {rule}}};'
    )


def _rule_name(isolate: Isolate, code: str) -> str | None:
    """'' for an anonymous function expression, the name of a named function that is the whole
    script (V8 parses it, alone, as that one expression), None otherwise: a script that starts
    with a helper function is not a rule."""
    name = flavour.leading_function_name(code)
    if not name:
        return name
    expression = f"return (\n{flavour.strip_rule_tail(code)}\n);"
    problem = isolate.eval(
        isolate.driver("parses", wire.dumps(expression).decode("utf-8")),
        timeout_s=COMPILE_TIMEOUT_S,
    )
    return name if problem is None else None


def _define_script(isolate: Isolate, key: str, body: str, code: str) -> str:
    # The factory runs at each step start, so top-level state never outlives a run; line 1 is
    # the wrapper, hence line numbers in errors are shifted by one (see describeError in JS).
    # The outer function gives the body its per-step scope (Auth0's `exports`, `configuration`
    # ...) in a scope of its own, so the code may declare the same names.
    # The driver's token comes before the code: nothing the code does can read it from here.
    factory = f"function ({_SCOPE_NAMES}) {{ return function () {{{body}\n}}; }}"
    meta = wire.dumps(flavour.code_meta(code)).decode("utf-8")
    script = isolate.driver("define", f'"{key}"', factory, meta)
    return f"{script};\n//# sourceURL=gp-{key}.js\n"


# Names every function body sees in its own scope (see stepScope in prelude.js).
_SCOPE_NAMES = "module, exports, configuration, auth0, UnauthorizedError"
_LODASH_SOURCE = resources.files(__package__).joinpath("lodash.min.js").read_text(encoding="utf-8")
_LODASH_LITERAL = wire.dumps(_LODASH_SOURCE).decode("utf-8")
_LODASH_LOADED = "lib:lodash"


def _load_lodash(isolate: Isolate) -> None:
    """Evaluate lodash in the isolate, once, for the first function that names it (lazily:
    isolates whose functions never require it do not pay for it)."""
    if _LODASH_LOADED in isolate.defined:
        return
    isolate.eval(isolate.driver("lodash", _LODASH_LITERAL), timeout_s=COMPILE_TIMEOUT_S)
    isolate.defined.add(_LODASH_LOADED)


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


class _ParsedBodies:
    """The function bodies that code was found to parse as, on its own, in some isolate of
    this process (most recently used last, at most ``KEPT``): parsing is V8's answer for the
    text alone, the same in every isolate, so an isolate that meets the same code again (a
    tenant's next isolate, a run in flight beside another) only defines it. Keyed by the code
    itself, never by its hash: no two texts can share an entry."""

    KEPT = 256

    def __init__(self) -> None:
        self._bodies: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, code: str) -> str | None:
        with self._lock:
            body = self._bodies.get(code)
            if body is not None:
                self._bodies.move_to_end(code)
            return body

    def add(self, code: str, body: str) -> None:
        with self._lock:
            self._bodies[code] = body
            self._bodies.move_to_end(code)
            while len(self._bodies) > self.KEPT:
                self._bodies.popitem(last=False)


_parsed_bodies = _ParsedBodies()


def compile_into(isolate: Isolate, key: str, code: str) -> dict[str, Any] | None:
    """Define the function in the isolate; return a compile error or None.

    The code is first parsed on its own as the function body it runs as, so that code which
    closes the wrapper it is compiled in (``}); ...; (function(){``) is refused before it is
    compiled, and none of it ever runs outside a step (once per process for the same code:
    ``_ParsedBodies``).
    """
    if key in isolate.defined:
        return None
    try:
        body = _parsed_bodies.get(code)
        if body is None:
            body = _wrapped_body(code, _rule_name(isolate, code))
            problem = isolate.eval(
                isolate.driver("parses", wire.dumps(body).decode("utf-8")),
                timeout_s=COMPILE_TIMEOUT_S,
            )
            if problem is not None:
                return _locate_syntax_error(isolate, body, str(problem))
            _parsed_bodies.add(code, body)
        if flavour.code_meta(code)["lodash"]:
            _load_lodash(isolate)
        isolate.eval(_define_script(isolate, key, body, code), timeout_s=COMPILE_TIMEOUT_S)
    except JSParseException as exc:
        return parse_syntax_error(str(exc))
    except (EvalCut, IsolateWedged):
        isolate.broken = True
        return {"message": "The code took too long to compile", "line": None, "column": None}
    except JSEvalException as exc:
        # Not expected (the driver's own scripts); the isolate is not trusted any further.
        isolate.broken = True
        return {
            "message": f"The sandbox could not prepare the function: {exc}",
            "line": None,
            "column": None,
        }
    isolate.defined.add(key)
    return None


def _locate_syntax_error(isolate: Isolate, body: str, problem: str) -> dict[str, Any]:
    """Where code that does not parse as a function body goes wrong, found by V8's parser on
    a script that starts by throwing, so nothing of it runs even if the parse succeeds."""
    try:
        isolate.eval(f"throw 0; (function () {{{body}\n}})", timeout_s=COMPILE_TIMEOUT_S)
    except JSParseException as exc:
        return parse_syntax_error(str(exc))
    except (EvalCut, IsolateWedged, JSEvalException):
        pass
    # It parses inside a wrapper but not on its own: it closes the wrapper. Whatever such a
    # script declared globally stays in this isolate, so it is never used again.
    isolate.broken = True
    return {
        "message": f"{problem}: the code must be a whole script (it closes the function it runs in, e.g. an unbalanced '}}')",
        "line": None,
        "column": None,
    }


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
    calls: hostcalls.RunCalls = field(default_factory=hostcalls.RunCalls)
    cpu_s: float = 0.0
    # The driver's finish entry proved the last isolate idle (no quiesce needed).
    idle: bool = False

    @property
    def functions(self) -> list[dict[str, Any]]:
        return self.job["functions"]

    def run_deadline(self) -> float:
        return self.started + self.limits["run_timeout_ms"] / 1000.0

    def deadline_for(self, index: int, started_at: float) -> float:
        timeout_ms = self.functions[index].get("timeout_ms") or 3000
        return min(started_at + timeout_ms / 1000.0, self.run_deadline())


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
    """Executes jobs; one per worker process, each job on the thread that received it."""

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self.memory = MemoryBudget(config.warm_memory_mb)
        self.provider = IsolateProvider(config, self.memory)
        self.load = TenantLoad()
        # Set once this process holds an isolate it could not stop (see _abandon).
        self.retire_requested = False
        self._seq = itertools.count(1)
        # Told +1 when a run starts waiting on a timer or host calls, -1 when the wait ends.
        self.on_wait: Callable[[int], None] = lambda _delta: None

    def run_job(
        self, job: dict[str, Any], on_progress: Callable[[int], None]
    ) -> tuple[dict[str, Any], float]:
        """The job's result once nothing of it runs any more, and the CPU seconds its
        isolates' threads used, what the run left running included.

        The last isolate is proved idle before the result is taken (a trivial eval, which V8
        starts only once every queued microtask has run) or freed, which terminates what the
        run left running (a loop after callback()): no code outlives its run.
        """
        run = self._new_run(job, on_progress)
        t0 = time.perf_counter()
        isolate = self._drive(run, self._acquire(run))
        if isolate is not None:
            hot = self.load.hot(str(job["tenant_id"]))
            wait = HOT_QUIESCE_TIMEOUT_S if hot else QUIESCE_TIMEOUT_S
            # Only a failed proof means code was left running; an isolate already broken (a
            # cut, a refused compile) is freed whatever the proof says.
            usable = not isolate.broken
            idle = (usable and run.idle) or isolate.quiesce(wait)
            if usable and not idle:
                # Code left running costs the host more than its measured CPU (the isolate
                # freed, a new one built): charged as if it had used its whole allowance.
                run.cpu_s += LEFTOVER_CHARGE_S
            self._release(run, isolate, keep=idle)
        self.load.add(str(job["tenant_id"]), run.cpu_s)
        if any(_hit_data_limit(record) for record in run.records):
            # The process reached its data limit: V8 threw this time, but what it allocates
            # next in this process may fail where it cannot throw (seen as a SIGSEGV on the
            # next run). Retired once its runs in flight are answered; a new worker serves on.
            self.retire_requested = True
        result = shape_result(
            job, run.records, run.state, run.outcome, (time.perf_counter() - t0) * 1000
        )
        return result, run.cpu_s

    def refill(self) -> None:
        """Idle time: build the next spare fresh isolate and put our own small job through it.

        V8 compiles the driver's functions lazily, on first call; doing that here keeps it
        off the first tenant run the isolate serves (about 10 ms in fresh-isolate mode).
        """
        if not self.provider.spares_wanted(0):
            return
        isolate = self._warmed_up()
        if isolate is not None:
            self.provider.put_spare(isolate)

    def _warmed_up(self) -> Isolate | None:
        """A new isolate that ran our own small job (None if it failed to, never expected:
        the plain isolate path still works)."""
        isolate = Isolate(self.config.heap_mb)
        run = self._new_run(WARM_UP_JOB, lambda _index: None)
        if self._drive(run, isolate) is not isolate or run.outcome != {"kind": "ok"}:
            isolate.close()
            return None
        if run.idle or isolate.quiesce(QUIESCE_TIMEOUT_S * 10):
            return isolate
        isolate.close()
        return None

    def prepare(self, tenant_id: str, codes: list[str]) -> None:
        """Hold an isolate of the tenant with these functions compiled, ready for its next run
        (the pool asks it of its spare worker for the tenants it serves most: a worker that
        takes over from a lost one then finds them warm). Nothing of the code runs: compiling
        only defines it (see compile_into)."""
        if self.config.fresh_isolate_per_run:
            return
        isolate = self.provider.take_idle(tenant_id) or self.provider.spare() or self._warmed_up()
        if isolate is None:
            return
        isolate.tenant_id = tenant_id
        for code in codes:
            compile_into(isolate, code_key(code), code)
        self.provider.release(isolate)

    def _acquire(self, run: _Run) -> Isolate:
        tenant_id = str(run.job["tenant_id"])
        nice = HOT_NICE if self.load.hot(tenant_id) else 0
        isolate = self.provider.acquire(tenant_id, hot=nice > 0)
        if not isolate.set_nice(nice) and nice < isolate.nice:
            # Its thread cannot be given its share back without privilege: use a new one.
            isolate.close()
            isolate = self.provider.fresh()
            isolate.tenant_id = tenant_id
        isolate.mark_cpu()
        isolate.on_busy = functools.partial(self._on_busy, run)
        return isolate

    @staticmethod
    def _on_busy(run: _Run, isolate: Isolate) -> None:
        if isolate.nice < HOT_NICE and run.cpu_s + isolate.cpu_running() > LONG_RUN_CPU_S:
            isolate.set_nice(HOT_NICE)

    def _release(self, run: _Run, isolate: Isolate, *, keep: bool = True) -> None:
        run.cpu_s += isolate.cpu_since_mark()
        if keep:
            self.provider.release(isolate)
        else:
            run.cpu_s += isolate.build_cpu_s  # the next run needs a new one
            isolate.close()

    def _abandon(self, run: _Run, isolate: Isolate) -> None:
        """Free an isolate that did not stop when its eval was cancelled. Most often it runs
        code between tasks, where cancelling cannot reach (a loop after ``await``): freeing
        stops that at once. A built-in V8 cannot interrupt (``new Array(2**27).fill(1.5)``)
        holds the free until it ends, and what it allocates may yet take the process down:
        this run is answered all the same, and the process asks to be retired (the caller
        sends no more work here and ends it once the runs in flight are answered)."""
        run.cpu_s += isolate.cpu_since_mark() + isolate.build_cpu_s
        if not isolate.free_within(FREE_WEDGED_WAIT_S):
            self.retire_requested = True

    def _new_run(self, job: dict[str, Any], on_progress: Callable[[int], None]) -> _Run:
        limits = {**DEFAULT_LIMITS, **(job.get("limits") or {})}
        run = _Run(
            job=job,
            limits=limits,
            started=time.time(),
            seq=next(self._seq),
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
            "chained": True,
        }
        watchdog = Watchdog(run.seq, start_index, run.deadline_for, run.on_progress)
        last: dict[str, Any] | None = None
        # The start, one entry per later step and the finish, queued at once: a chain whose
        # functions settle synchronously costs one hand-off each way (see eval_chain).
        if isolate.stage_payload(wire.dumps(payload).decode("utf-8")):
            chain = [isolate.driver("start")]
        else:  # larger than the shared buffer: in the script
            chain = [isolate.driver("start", wire.js_string_literal(payload))]
        chain += [isolate.driver("next")] * (len(steps) - start_index - 1)
        chain.append(isolate.driver("finish"))
        try:
            last = _answer_of(isolate, chain, watchdog, last)
            while not last["done"]:
                watchdog.fallback_index = (
                    last["running"] if last["running"] is not None else last["next"]
                )
                last = self._turn(run, isolate, last, watchdog)
        except (EvalCut, IsolateWedged, JSEvalException, _StepDeadline) as exc:
            return self._interrupted(run, isolate, getattr(exc, "newest", last), watchdog, exc)
        run.idle = bool(last.get("idle"))
        self._commit(run, last)
        run.outcome = last["outcome"]
        return len(run.functions), isolate

    def _turn(
        self, run: _Run, isolate: Isolate, last: dict[str, Any], watchdog: Watchdog
    ) -> dict[str, Any]:
        """One turn of the event loop: host calls, then timers, then microtask results."""
        hand_off_reading()  # what follows may wait for seconds without watching the channel
        self.on_wait(+1)
        try:
            delivered = self._wait_turn(run, isolate, last, watchdog)
        finally:
            self.on_wait(-1)
        # The finish behind the pump sees what the microtasks the pump queued did: one
        # hand-off where a second pump and then the idle proof took two more.
        chain = [isolate.driver("pump", delivered, "true"), isolate.driver("finish")]
        return _answer_of(isolate, chain, watchdog, last)

    def _wait_turn(
        self, run: _Run, isolate: Isolate, last: dict[str, Any], watchdog: Watchdog
    ) -> str:
        """Make the host calls, or sleep until the next timer is due; what to deliver."""
        if last["host_calls"]:

            def time_left() -> float:
                return watchdog.remaining(isolate.marks)

            results = [hostcalls.perform(call, run.calls, time_left) for call in last["host_calls"]]
            return wire.js_string_literal(results)
        wait_ms = last["next_timer_in_ms"]
        if wait_ms:
            remaining = watchdog.remaining(isolate.marks)
            if wait_ms / 1000.0 >= remaining:
                time.sleep(max(remaining, 0))
                raise _StepDeadline
            time.sleep(wait_ms / 1000.0)
        return "null"

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
        leftover = watchdog.idle_since(isolate.marks) is not None
        if leftover:
            run.cpu_s += LEFTOVER_CHARGE_S  # as for a failed idle proof (run_job)
        committed = self._latest_state(isolate, run.seq, last)
        if isolate.wedged:
            self._abandon(run, isolate)
        else:
            # Freed at once: freeing stops whatever the isolate still runs.
            self._release(run, isolate, keep=False)
        if committed is not None:
            self._commit(run, committed)
            index = committed["running"] if committed["running"] is not None else committed["next"]
            if leftover and committed["running"] is None and run.records:
                # No step was running: a finished step's leftover code kept the isolate busy
                # (a loop after callback()). Its result stands; the chain goes on elsewhere.
                run.records[-1]["logs"].append(dict(_LEFTOVER_WARNING))
            if committed["done"] or index >= len(run.functions):
                # The chain ended in microtasks after the last eval returned (e.g. a host call
                # answered just before the deadline), or the cut came after the last step
                # settled: it stopped nothing of this run.
                run.outcome = committed["outcome"] or {"kind": "ok"}
                return len(run.functions), None
            if leftover and committed["running"] is None:
                return index, self._acquire(run)
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
        return index + 1, self._acquire(run)

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
                    "message": "The code must define a function named `pipe` (async function pipe(user, context, callback) { ... }), "
                    "export an Auth0 Action handler (exports.onExecutePostLogin = async (event, api) => { ... }) "
                    "or be an Auth0 Rule (function (user, context, callback) { ... })",
                    "line": None,
                    "column": None,
                }
            return None
        finally:
            isolate.broken = True
            isolate.close()


_LEFTOVER_WARNING: dict[str, Any] = {
    "level": "warn",
    "message": "The function kept running after it called callback() (e.g. a loop after an await); that code was stopped",
    "t_ms": 0,
}


class _StepDeadline(Exception):
    """A step's deadline passed while the worker waited for its timer."""


def _answer_of(
    isolate: Isolate, chain: list[str], watchdog: Watchdog, last: dict[str, Any] | None
) -> dict[str, Any]:
    """The state the chain's last entry answered. If the chain stops, the exception carries
    the newest state known (``newest``): what an entry answered before it stopped, else
    ``last``."""
    try:
        answer = isolate.eval_chain(chain, watchdog=watchdog)
    except (EvalCut, IsolateWedged, JSEvalException) as exc:
        states = [wire.loads(text) for text in getattr(exc, "answers", ()) if text]
        known = [state for state in states if state is not None]
        exc.newest = known[-1] if known else last  # type: ignore[union-attr]
        raise
    state: dict[str, Any] = wire.loads(answer)
    return state


def _hit_data_limit(record: dict[str, Any]) -> bool:
    """A step stopped because the allocator refused memory (the worker's RLIMIT_DATA), not
    by the prelude's own accounting (which throws before asking)."""
    error = record.get("error") or {}
    return error.get("name") == "RangeError" and error.get("message") in _ALLOCATOR_REFUSALS


# V8's messages when the allocator returns nothing (what the worker's data limit makes it do).
_ALLOCATOR_REFUSALS = frozenset({"Array buffer allocation failed"})


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
