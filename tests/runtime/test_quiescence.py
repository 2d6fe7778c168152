"""A step ends only when nothing of it can still run; callback() is how a function answers.

Hostile code that keeps running after callback() (a loop after an await, a then-able that
loops, a microtask chain that reschedules itself) must be stopped, cost nothing afterwards, and
never take the worker process down. Code that closes the wrapper it is compiled in must never
run at all.
"""

from __future__ import annotations

import os
import time

import pytest

import apps.runtime as runtime

from .conftest import PASS_THROUGH, make_job

SPIN_AFTER_CALLBACK = {
    "loop after await": (
        "async function pipe(u, c, cb) { u.before = 1; cb(null, u, c); await null; while (true) {} }"
    ),
    "then-able that loops": (
        "async function pipe(u, c, cb) { cb(null, u, c); return { then() { while (true) {} } }; }"
    ),
    "microtask storm": (
        "function pipe(u, c, cb) { cb(null, u, c); (function again() { Promise.resolve().then(again); })(); }"
    ),
}


def _workers() -> set[int]:
    """The pool's worker processes, once all of them are idle."""
    pool = runtime._get_pool()
    give_up = time.monotonic() + 5
    while True:
        pids = pool.worker_pids()
        if len(pids) >= pool.config.workers or time.monotonic() > give_up:
            return pids
        time.sleep(0.01)


def _cpu_s(pids: set[int]) -> float:
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


@pytest.mark.parametrize("code", SPIN_AFTER_CALLBACK.values(), ids=SPIN_AFTER_CALLBACK.keys())
def test_code_left_running_after_callback_is_stopped_and_costs_nothing(run, code):
    before = _workers()
    t0 = time.monotonic()
    result = run(code, tenant_id="t_spinner")
    assert result["decision"] == "allow", result
    assert result["user"]["email"] == "ann@example.com"
    assert time.monotonic() - t0 < 1.0

    # The tenant's next run is fast and the worker process was not replaced.
    t0 = time.monotonic()
    again = run(PASS_THROUGH, tenant_id="t_spinner")
    assert again["decision"] == "allow" and again["user"]["touched"] is True
    assert time.monotonic() - t0 < 1.0
    time.sleep(0.1)
    assert _workers() == before

    # Nothing keeps spinning: the workers use (almost) no CPU while idle.
    cpu = _cpu_s(before)
    time.sleep(0.5)
    assert _cpu_s(before) - cpu < 0.15


def test_a_spinning_step_keeps_its_result_and_the_chain_goes_on(run):
    result = run(SPIN_AFTER_CALLBACK["loop after await"], PASS_THROUGH, tenant_id="t_spinner2")
    assert result["decision"] == "allow", result
    assert [s["status"] for s in result["steps"]] == ["ok", "ok"]
    assert result["user"]["before"] == 1 and result["user"]["touched"] is True
    messages = [entry["message"] for entry in result["steps"][0]["logs"]]
    assert any("kept running after it called callback()" in m for m in messages), messages
    assert result["duration_ms"] < 1000


SPIN_BETWEEN_TASKS = {
    "loop after await, before callback": (
        "async function pipe(u, c, cb) { await null; while (true) {} }"
    ),
    "loop after callback, not the last step": SPIN_AFTER_CALLBACK["loop after await"],
}


@pytest.mark.parametrize("code", SPIN_BETWEEN_TASKS.values(), ids=SPIN_BETWEEN_TASKS.keys())
def test_code_spinning_between_tasks_is_stopped_without_losing_the_worker(run, code):
    """Microtasks run between the worker's tasks, where cancelling a task cannot reach:
    freeing the isolate stops them. The worker process serves on (it used to retire)."""
    run(PASS_THROUGH, tenant_id="t_spin_between")  # the pool is up and serving
    before = _workers()
    t0 = time.monotonic()
    result = run(code, PASS_THROUGH, tenant_id="t_spin_between", timeout_ms=300)
    elapsed = time.monotonic() - t0
    assert result["steps"][1]["status"] == "ok", result
    assert result["user"]["touched"] is True
    assert elapsed < 1.0
    time.sleep(0.1)
    assert _workers() == before


def test_a_deny_from_a_timer_is_waited_for_after_pipes_promise_settles(run):
    result = run(
        "async function pipe(u, c, cb) {  setTimeout(() => cb(new Error('blocked later')), 30);}"
    )
    assert result["decision"] == "deny", result
    assert result["error"]["message"] == "blocked later"
    assert result["steps"][0]["logs"] == []


def test_a_deny_from_an_unawaited_then_is_waited_for(run):
    result = run(
        "async function pipe(u, c, cb) {"
        "  new Promise((r) => setTimeout(r, 20)).then(() => cb(new Error('risk too high')));"
        "  return 'not the answer';"
        "}"
    )
    assert result["decision"] == "deny", result
    assert result["error"]["message"] == "risk too high"


def test_an_async_pipe_with_nothing_pending_still_passes_on_with_the_warning(run):
    result = run("async function pipe(u, c, cb) { u.seen = true; }")
    assert result["decision"] == "allow"
    assert result["user"]["seen"] is True
    assert "finished without calling callback()" in result["steps"][0]["logs"][0]["message"]


def test_a_pending_timer_that_never_calls_back_ends_at_the_step_deadline(run):
    t0 = time.monotonic()
    result = run("async function pipe(u, c, cb) { setTimeout(() => {}, 5000); }", timeout_ms=300)
    assert result["steps"][0]["status"] == "timeout", result
    assert 0.25 < time.monotonic() - t0 < 2.0


@pytest.mark.parametrize(
    "code",
    [
        "function pipe(u, c, cb) { cb(null, u, c); cb(new Error('again')); }",
        "function pipe(u, c, cb) { cb(null, u, c); Promise.resolve().then(() => cb(null, u, c)); }",
        "async function pipe(u, c, cb) { cb(null, u, c); await null; cb(new Error('late')); }",
    ],
    ids=["at once", "from a microtask", "after an await"],
)
def test_a_second_callback_is_ignored_with_a_warning_in_the_steps_logs(run, code):
    result = run(code, PASS_THROUGH)
    assert result["decision"] == "allow", result
    messages = [entry["message"] for entry in result["steps"][0]["logs"]]
    assert "callback() was called more than once; later calls are ignored" in messages


WRAPPER_ESCAPES = [
    "}); globalThis.INJ = 1; (function () {",
    "function pipe(u, c, cb) { cb(null, u, c) }\n}); globalThis.INJ = 1; (function () {",
    "}; globalThis.INJ = 1; function pipe(u, c, cb) { cb(null, u, c) } {",
]


@pytest.mark.parametrize("code", WRAPPER_ESCAPES)
def test_code_that_closes_its_wrapper_is_refused_and_never_runs(run, code):
    problem = runtime.validate_code(code)
    assert problem is not None and problem["message"], problem
    result = run(code, tenant_id="t_escape")
    assert result["decision"] == "deny", result
    assert result["steps"][0]["status"] == "error"
    probe = run(
        "function pipe(u, c, cb) { u.inj = typeof globalThis.INJ; cb(null, u, c); }",
        tenant_id="t_escape",
    )
    assert probe["user"]["inj"] == "undefined"


def test_a_timer_left_by_a_finished_step_never_fires(run):
    result = run(
        "function pipe(u, c, cb) { cb(null, u, c); setTimeout(() => console.log('late'), 0); }",
        "function pipe(u, c, cb) { setTimeout(() => cb(null, u, c), 20); }",
    )
    assert result["decision"] == "allow", result
    assert all(entry["message"] != "late" for s in result["steps"] for entry in s["logs"])


def test_a_finished_steps_microtasks_run_before_the_next_step_starts(run):
    result = run(
        "async function pipe(u, c, cb) { cb(null, u, c); await null; await null; console.log('leftover'); }",
        "function pipe(u, c, cb) { console.log('second'); cb(null, u, c); }",
    )
    # Before the one-step-per-entry driver, "leftover" was logged inside the second step.
    assert [e["message"] for e in result["steps"][1]["logs"]] == ["second"]
    assert result["decision"] == "allow"


def test_a_plain_syntax_error_still_reports_its_line():
    problem = runtime.validate_code("function pipe(u, c, cb) {\n  const = 1;\n}")
    assert problem is not None
    assert problem["line"] == 2


def test_more_tenants_than_warm_isolates_all_run_and_no_worker_is_lost(run):
    before = _workers()
    code = "function pipe(u, c, cb) { globalThis.seen = (globalThis.seen || 0) + 1; u.seen = globalThis.seen; cb(null, u, c); }"
    for rounds in range(2):
        for n in range(120):
            result = run(code, tenant_id=f"t_many_{n}")
            assert result["decision"] == "allow", result
    assert _workers() == before


def test_an_isolate_wedged_while_compiling_fails_the_step_not_the_worker(monkeypatch):
    """The wedged/terminated paths of compiling are answered like any step error (the
    worker must never exit over a tenant's code)."""
    from apps.runtime import engine as engine_module
    from apps.runtime.isolate import Isolate, IsolateWedged

    engine = engine_module.Engine(runtime.SandboxConfig(spare_isolates=0).engine_config())
    real_eval = Isolate.eval

    def wedged_when_parsing(self, code, **kwargs):
        if ".parses(" in code:
            self.broken = self.wedged = True
            raise IsolateWedged
        return real_eval(self, code, **kwargs)

    monkeypatch.setattr(Isolate, "eval", wedged_when_parsing)
    # Not yet parsed in this process (earlier tests compiled the same code).
    monkeypatch.setattr(engine_module, "_parsed_bodies", engine_module._ParsedBodies())
    job = {
        "tenant_id": "t_wedge",
        "trigger": "PRE_REGISTER",
        "functions": [
            {"id": "f", "name": "f", "version": 1, "code": PASS_THROUGH, "timeout_ms": 1000}
        ],
        "user": {"id": "u"},
        "context": {},
        "env": {},
    }
    result, _cpu = engine.run_job(job, lambda index: None)
    assert result["decision"] == "deny"
    step = result["steps"][0]
    assert step["status"] == "error"
    assert "took too long to compile" in step["error"]["message"]
    # The wedged isolate was not kept for the tenant.
    monkeypatch.setattr(Isolate, "eval", real_eval)
    result, _cpu = engine.run_job(job, lambda index: None)
    assert result["decision"] == "allow"


def test_code_parsed_in_one_isolate_is_only_defined_in_the_next_and_a_refusal_is_not_kept(
    monkeypatch,
):
    from apps.runtime import engine as engine_module
    from apps.runtime.isolate import Isolate

    monkeypatch.setattr(engine_module, "_parsed_bodies", engine_module._ParsedBodies())
    engine = engine_module.Engine(runtime.SandboxConfig(spare_isolates=0).engine_config())
    parsed: list[str] = []
    real_eval = Isolate.eval

    def counting(self, code, **kwargs):
        if ".parses(" in code:
            parsed.append(code)
        return real_eval(self, code, **kwargs)

    monkeypatch.setattr(Isolate, "eval", counting)
    good, bad = PASS_THROUGH + "\n// parsed once", "function pipe(user {"
    first, second = engine.provider.fresh(), engine.provider.fresh()
    try:
        key = engine_module.code_key(good)
        assert engine_module.compile_into(first, key, good) is None
        checks = len(parsed)
        assert checks >= 1
        assert engine_module.compile_into(second, key, good) is None
        assert len(parsed) == checks  # defined without parsing it again...
        # ...and defined all the same: the driver finds its pipe there.
        assert second.eval(second.driver("check", f'"{key}"'), timeout_s=1) == "function"
        for isolate in (first, second):
            error = engine_module.compile_into(isolate, engine_module.code_key(bad), bad)
            assert error is not None and error["line"] == 1
        assert len(parsed) >= checks + 2  # a refusal is checked again in every isolate
    finally:
        first.close()
        second.close()


def test_no_run_needs_a_separate_idle_proof_and_leftover_code_after_a_pump_is_stopped(
    monkeypatch,
):
    """The driver's finish entry proves a run idle: queued behind the start chain, and
    behind each pump (timers, host-call results). Leftover code after a step that ended in
    a pump keeps that finish from starting: it is cut, the step's result stands, and the
    isolate is not reused."""
    from apps.runtime import engine as engine_module
    from apps.runtime.isolate import Isolate

    engine = engine_module.Engine(runtime.SandboxConfig(spare_isolates=0).engine_config())
    proofs: list[bool] = []
    real_quiesce = Isolate.quiesce

    def counted(self, timeout_s):
        proofs.append(real_quiesce(self, timeout_s))
        return proofs[-1]

    monkeypatch.setattr(Isolate, "quiesce", counted)
    evals: list[str] = []
    real_eval = Isolate.eval

    def counted_eval(self, code, **kwargs):
        evals.append(code)
        return real_eval(self, code, **kwargs)

    monkeypatch.setattr(Isolate, "eval", counted_eval)

    def job(*codes: str) -> dict:
        return make_job(*codes, tenant_id="t_idle_proof").to_wire()

    result, _cpu = engine.run_job(job(PASS_THROUGH, PASS_THROUGH, PASS_THROUGH), lambda i: None)
    assert [s["status"] for s in result["steps"]] == ["ok", "ok", "ok"]
    assert proofs == []

    timer = "function pipe(u, c, cb) { setTimeout(() => cb(null, u, c), 5); }"
    evals.clear()
    result, _cpu = engine.run_job(job(PASS_THROUGH, timer), lambda i: None)
    assert result["decision"] == "allow" and proofs == []
    assert not [code for code in evals if "pump" in code]  # pumps go in chains only
    assert not any(
        log["message"].startswith("The function kept running")
        for step in result["steps"]
        for log in step["logs"]
    )

    timer_then_spin = (
        "function pipe(u, c, cb) { setTimeout(() => { cb(null, u, c);"
        " Promise.resolve().then(() => { while (true) {} }); }, 5); }"
    )
    result, _cpu = engine.run_job(job(timer_then_spin), lambda i: None)
    assert result["decision"] == "allow" and proofs == []
    assert result["steps"][0]["status"] == "ok"
    assert result["steps"][0]["logs"][-1]["message"].startswith("The function kept running")
    # The isolate that ran the spinner was freed: the tenant's next run still works.
    result, _cpu = engine.run_job(job(timer), lambda i: None)
    assert result["decision"] == "allow"
