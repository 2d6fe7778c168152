"""Hostile code: each case must be contained and the next normal run must still work."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import apps.runtime as runtime

from .conftest import PASS_THROUGH, make_job

FAST = {"timeout_ms": 200}


def test_an_infinite_loop_times_out_and_the_next_function_runs(run, assert_sandbox_healthy):
    result = run("async function pipe(u, c, cb) { while (true) {} }", PASS_THROUGH, **FAST)
    assert [s["status"] for s in result["steps"]] == ["timeout", "ok"]
    assert result["decision"] == "allow"
    assert result["user"]["touched"] is True
    assert_sandbox_healthy()


def test_a_timed_out_function_passes_on_the_objects_from_before_it(run):
    result = run(
        "async function pipe(u, c, cb) { u.half = 1; u.addCustomData('x', 1); while (true) {} }",
        "async function pipe(u, c, cb) { cb(null, u, c); }",
        **FAST,
    )
    assert "half" not in result["user"]
    assert result["custom_data"] == {}


def test_a_hang_is_cut_near_its_own_deadline_not_the_run_budget(run):
    t0 = time.perf_counter()
    result = run(PASS_THROUGH, "async function pipe(u, c, cb) { while (true) {} }", timeout_ms=300)
    elapsed = time.perf_counter() - t0
    assert result["steps"][1]["status"] == "timeout"
    assert 0.25 < elapsed < 2.0


def test_terminate_on_timeout_denies_with_function_timeout(run, assert_sandbox_healthy):
    result = run(
        "async function pipe(u, c, cb) { while (true) {} }",
        PASS_THROUGH,
        terminate_on_timeout=True,
        **FAST,
    )
    assert result["decision"] == "deny"
    assert result["error"]["code"] == "function_timeout"
    assert len(result["steps"]) == 1
    assert_sandbox_healthy()


def test_a_loop_after_await_does_not_hang(run, assert_sandbox_healthy):
    t0 = time.perf_counter()
    result = run(
        "async function pipe(u, c, cb) { await null; while (true) {} }", PASS_THROUGH, **FAST
    )
    assert time.perf_counter() - t0 < 3
    assert [s["status"] for s in result["steps"]] == ["timeout", "ok"]
    assert_sandbox_healthy()


def test_a_loop_in_set_timeout_is_cut(run, assert_sandbox_healthy):
    result = run(
        "async function pipe(u, c, cb) { setTimeout(() => { while (true) {} }, 0); await new Promise(r => setTimeout(r, 50)); cb(null, u, c); }",
        **FAST,
    )
    assert result["steps"][0]["status"] == "timeout"
    assert_sandbox_healthy()


def test_an_array_bomb_is_stopped(run, assert_sandbox_healthy):
    # Stopped by the heap limit (an error) or, on a machine busy enough that the heap does not
    # fill within 5 s of the isolate's CPU share, by the deadline: either denies the run.
    result = run(
        "async function pipe(u, c, cb) { const a = []; while (true) { a.push(new Array(100000).fill({x: 1})); } }",
        timeout_ms=5000,
        terminate_on_timeout=True,
    )
    assert result["decision"] == "deny"
    assert result["steps"][0]["status"] in ("error", "timeout")
    assert_sandbox_healthy()


def test_the_process_killing_one_liner_is_stopped_at_its_deadline(run, assert_sandbox_healthy):
    # V8 cannot interrupt the fill: the step is cut at its own deadline (the isolate is
    # abandoned and its worker retired) unless the fill kills the worker process first.
    t0 = time.perf_counter()
    result = run(
        PASS_THROUGH,
        "async function pipe(u, c, cb) { new Array(2**27).fill(1.5); cb(null, u, c); }",
        timeout_ms=1000,
        terminate_on_timeout=True,
    )
    elapsed = time.perf_counter() - t0
    assert result["decision"] == "deny"
    step = result["steps"][-1]
    assert (step["status"], step["error"]["code"]) in {
        ("timeout", "function_timeout"),
        ("error", "sandbox_crashed"),
        ("error", "memory_limit"),
    }
    if step["status"] == "timeout":
        assert elapsed < 3.0  # the watchdog, well before the pool's hard deadline (4 s)
    assert_sandbox_healthy()


def test_large_array_buffers_are_refused(run, assert_sandbox_healthy):
    result = run(
        "async function pipe(u, c, cb) { const keep = []; for (let i = 0; i < 20; i++) keep.push(new Uint8Array(50 * 1024 * 1024)); cb(null, u, c); }",
        timeout_ms=3000,
    )
    assert result["decision"] == "deny"
    assert "allocat" in result["steps"][0]["error"]["message"]
    assert_sandbox_healthy()


def test_deep_recursion_is_a_function_error(run, assert_sandbox_healthy):
    result = run("async function pipe(u, c, cb) { function f(n) { return f(n + 1) + 1; } f(0); }")
    assert result["steps"][0]["status"] == "error"
    assert result["steps"][0]["error"]["name"] == "RangeError"
    assert_sandbox_healthy()


def test_a_300_kb_return_value_is_a_step_error(run, assert_sandbox_healthy):
    result = run(
        "async function pipe(u, c, cb) { u.blob = 'x'.repeat(300 * 1024); cb(null, u, c); }"
    )
    assert result["steps"][0]["status"] == "error"
    assert "larger than the limit" in result["steps"][0]["error"]["message"]
    assert_sandbox_healthy()


def test_non_json_results_are_clear_step_errors(run, assert_sandbox_healthy):
    cases = {
        "u.f = function () {};": "function",
        "u.self = u;": "JSON",
        "u.big = 10n;": "BigInt",
    }
    for body, word in cases.items():
        result = run(f"async function pipe(u, c, cb) {{ {body} cb(null, u, c); }}")
        assert result["steps"][0]["status"] == "error", body
        assert word.lower() in result["steps"][0]["error"]["message"].lower(), result["steps"][0][
            "error"
        ]
    result = run("async function pipe(u, c, cb) { cb(null, 42, c); }")
    assert "plain object" in result["steps"][0]["error"]["message"]
    assert_sandbox_healthy()


def test_functions_and_symbols_are_refused_wherever_they_hide(run, assert_sandbox_healthy):
    hidden = {
        "u.deep = {a: [{b: [1, () => 1]}]};": "function",
        "c.tags = [Symbol('x')];": "symbol",
        "u.meta = Object.create(null); u.meta.f = function () {};": "function",
        "u.later = {toJSON() { return {f() {}}; }};": "function",
        "u.when = new Date(0); Object.defineProperty(u.when, 'toJSON', {value: () => ({f() {}})});": "function",
        "Object.defineProperty(u, 'toJSON', {value: () => ({f() {}})});": "function",
        "u.obj = new (class Thing { constructor() { this.f = () => 1; } })();": "function",
        "u.addCustomData('cb', () => 1);": "function",
    }
    for body, word in hidden.items():
        result = run(f"async function pipe(u, c, cb) {{ {body} cb(null, u, c); }}")
        step = result["steps"][0]
        assert step["status"] == "error", body
        assert word in step["error"]["message"], (body, step["error"])


def test_json_data_of_every_shape_is_passed_on_as_json_stringify_makes_it(run):
    result = run(
        """async function pipe(u, c, cb) {
        u.when = new Date(0);
        u.nested = {list: [1, "two", null, true, {x: undefined, y: [[]]}], empty: {}};
        u.nothing = undefined;
        u.plain = Object.assign(Object.create(null), {k: "v"});
        u.obj = new (class Thing { constructor() { this.n = 1; } })();
        u.viaToJSON = {toJSON() { return "custom"; }};
        cb(null, u, c); }"""
    )
    user = result["user"]
    assert result["steps"][0]["status"] == "ok"
    assert user["when"] == "1970-01-01T00:00:00.000Z"
    assert user["nested"] == {"list": [1, "two", None, True, {"y": [[]]}], "empty": {}}
    assert "nothing" not in user
    assert user["plain"] == {"k": "v"}
    assert user["obj"] == {"n": 1}
    assert user["viaToJSON"] == "custom"


def test_prototype_patching_does_not_leak_to_later_runs_or_tenants(run):
    patch = """async function pipe(u, c, cb) {
        try { Object.prototype.polluted = 'yes'; } catch (e) {}
        try { JSON.parse = () => ({hijacked: true}); } catch (e) {}
        try { Array.prototype.push = function () { return 0; }; } catch (e) {}
        cb(null, u, c); }"""
    probe = """async function pipe(u, c, cb) {
        const a = []; a.push(1);
        u.polluted = ({}).polluted === undefined ? 'no' : 'yes';
        u.parse = JSON.parse('{"a": 1}').a === 1 ? 'ok' : 'hijacked';
        u.push = a.length === 1 ? 'ok' : 'broken';
        cb(null, u, c); }"""
    run(patch, tenant_id="t_evil")
    for tenant in ("t_evil", "t_victim"):
        result = run(probe, tenant_id=tenant)
        assert result["user"]["polluted"] == "no"
        assert result["user"]["parse"] == "ok"
        assert result["user"]["push"] == "ok"


def test_another_tenants_data_is_not_visible_through_globals(run):
    run(
        "async function pipe(u, c, cb) { globalThis.stash = u.email; globalThis.lastEnv = env.SECRET; cb(null, u, c); }",
        tenant_id="t_a",
        user={"email": "a@a.com"},
        env={"SECRET": "s3cret"},
    )
    result = run(
        "async function pipe(u, c, cb) { u.seen = [typeof stash, typeof lastEnv, env.SECRET === undefined]; cb(null, u, c); }",
        tenant_id="t_b",
    )
    assert result["user"]["seen"] == ["undefined", "undefined", True]


def test_a_callback_that_is_never_called_does_not_hang(run, assert_sandbox_healthy):
    result = run("async function pipe(u, c, cb) { await new Promise(() => {}); }", **FAST)
    assert result["steps"][0]["status"] in ("error", "timeout")
    result = run("function pipe(u, c, cb) { }")
    assert result["steps"][0]["status"] == "ok"
    assert_sandbox_healthy()


def test_syntax_errors_report_their_line(run):
    result = run("async function pipe(u, c, cb) {\n  const a = 1;\n  let = = 2;\n}")
    step = result["steps"][0]
    assert step["status"] == "error"
    assert step["error"]["name"] == "SyntaxError"
    assert step["error"]["line"] == 3
    assert runtime.validate_code("async function pipe(u, c, cb) {\n  oops(;\n}")["line"] == 2


def test_validate_code_accepts_a_pipe_and_refuses_code_without_one():
    assert runtime.validate_code(PASS_THROUGH) is None
    assert "pipe" in runtime.validate_code("const x = 1;")["message"]
    assert runtime.validate_code("while (true) {}")["message"]


def test_process_fs_and_dynamic_import_are_unavailable(run, assert_sandbox_healthy):
    result = run("async function pipe(u, c, cb) { u.p = typeof process; cb(null, u, c); }")
    assert result["user"]["p"] == "undefined"
    result = run("async function pipe(u, c, cb) { require('fs'); }")
    assert "./utils" in result["steps"][0]["error"]["message"]
    result = run("async function pipe(u, c, cb) { await import('fs'); cb(null, u, c); }")
    assert result["steps"][0]["status"] == "error"
    assert_sandbox_healthy()


def test_log_flooding_is_truncated_and_marked(run):
    result = run(
        "async function pipe(u, c, cb) { for (let i = 0; i < 100000; i++) console.log('line', i); cb(null, u, c); }"
    )
    logs = result["steps"][0]["logs"]
    assert len(logs) == 201
    assert "truncated" in logs[-1]["message"]
    result = run(
        "async function pipe(u, c, cb) { for (let i = 0; i < 100; i++) console.log('x'.repeat(5000)); cb(null, u, c); }"
    )
    logs = result["steps"][0]["logs"]
    assert sum(len(entry["message"]) for entry in logs[:-1]) <= 65536
    assert "truncated" in logs[-1]["message"]


def test_the_same_function_runs_concurrently_from_two_threads():
    code = "async function pipe(u, c, cb) { u.n = u.n * 2; cb(null, u, c); }"
    jobs = [make_job(code, user={"n": i}) for i in range(40)]
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(runtime.run_pipeline, jobs))
    assert [r.user["n"] for r in results] == [i * 2 for i in range(40)]


def test_the_same_function_runs_concurrently_from_two_processes():
    script = (
        "import json, sys, apps.runtime as rt\n"
        "rt.configure(rt.SandboxConfig(workers=1))\n"
        "code = 'async function pipe(u, c, cb) { u.n = u.n + 1; cb(null, u, c); }'\n"
        "job = rt.PipelineJob(tenant_id='t', trigger='PRE_REGISTER',"
        " functions=(rt.FunctionJob(id='f', name='f', code=code, timeout_ms=1000),),"
        " user={'n': int(sys.argv[1])}, context={}, env={})\n"
        "print(json.dumps([rt.run_pipeline(job).user['n'] for _ in range(20)]))\n"
        "rt.shutdown()\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(n)], stdout=subprocess.PIPE, text=True)
        for n in (1, 100)
    ]
    outputs = [json.loads(p.communicate(timeout=60)[0]) for p in procs]
    assert outputs == [[2] * 20, [101] * 20]


# Values a function hands the driver may be proxies or carry getters (tenant code that throws):
# each case settles its own step at once, with the right record, and the chain goes on.
@pytest.mark.parametrize(
    ("code", "statuses", "message"),
    [
        (  # thrown object whose every property throws
            "async function pipe(u, c, cb) { throw { get message() { throw 1; }, get name() { throw 2; } }; }",
            ["error"],
            "Non-Error value thrown: [an object that cannot be shown]",
        ),
        (  # thrown proxy: even instanceof throws
            "async function pipe(u, c, cb) { throw new Proxy({}, { get() { throw 1; }, getPrototypeOf() { throw 2; } }); }",
            ["error"],
            "Non-Error value thrown: [a value that cannot be shown]",
        ),
        (  # an Error whose stack and name getters throw
            "async function pipe(u, c, cb) { class E extends Error { get name() { throw 5; } }"
            " const e = new E('m'); Object.defineProperty(e, 'stack', { get() { throw 1; } }); throw e; }",
            ["error"],
            "m",
        ),
        (  # a returned object whose `then` getter throws
            "function pipe(u, c, cb) { return { get then() { throw 1; } }; }",
            ["error"],
            "Non-Error value thrown: 1",
        ),
        (  # the same after calling back: the step stays ok, the next one runs
            "function pipe(u, c, cb) { cb(null, u, c); return { get then() { throw 1; } }; }",
            ["ok", "ok"],
            None,
        ),
        (  # a thenable that calls back from its own then()
            "function pipe(u, c, cb) { return { then(resolve) { cb(null, u, c); resolve(); } }; }",
            ["ok", "ok"],
            None,
        ),
        (  # a revoked proxy passed on, the callback's error swallowed
            "async function pipe(u, c, cb) { const p = Proxy.revocable({}, {}); p.revoke();"
            " try { cb(null, p.proxy, c); } catch (e) {} }",
            ["error"],
            "The user passed on by callback() cannot be converted to JSON: "
            "Cannot perform 'IsArray' on a proxy that has been revoked",
        ),
    ],
)
def test_values_that_throw_when_looked_at_settle_their_own_step(
    run, assert_sandbox_healthy, code, statuses, message
):
    t0 = time.perf_counter()
    result = run(code, PASS_THROUGH)
    assert time.perf_counter() - t0 < 2
    assert [s["status"] for s in result["steps"]] == statuses
    if message is None:
        assert result["decision"] == "allow" and result["user"]["touched"] is True
    else:
        assert result["steps"][0]["error"]["message"] == message
        assert result["error"]["code"] == "function_error"
    assert_sandbox_healthy()


def test_a_deny_whose_message_cannot_be_read_still_denies(run):
    result = run("async function pipe(u, c, cb) { cb(new Proxy({}, { get() { throw 1; } })); }")
    assert result["error"] == {
        "code": "access_denied",
        "message": "[an object that cannot be shown]",
        "function": "step-0",
    }


def test_error_and_deny_text_is_clipped_and_says_so(run):
    thrown = run("async function pipe(u, c, cb) { throw new Error('x'.repeat(5e6)); }")
    assert thrown["steps"][0]["error"]["message"] == "x" * 2000 + "… [4998000 more characters]"
    denied = run(
        "async function pipe(u, c, cb) { cb({ message: 'y'.repeat(3000), code: 'c'.repeat(300) }); }"
    )
    assert denied["error"]["message"] == "y" * 2000 + "… [1000 more characters]"
    assert denied["error"]["code"] == "c" * 200 + "… [100 more characters]"


def test_a_resizable_buffer_counts_at_its_maximum_size(run, assert_sandbox_healthy):
    result = run(
        "async function pipe(u, c, cb) {"
        " const b = new ArrayBuffer(1, { maxByteLength: 2 ** 31 }); b.resize(2 ** 31); cb(null, u, c); }"
    )
    assert result["steps"][0]["error"]["message"].startswith(
        "Array buffer allocation failed: this run may allocate at most 64 MiB"
    )
    assert_sandbox_healthy()


@pytest.mark.parametrize("copy", ["a.slice()", "structuredClone(a)"])
def test_buffers_made_by_copying_stop_at_the_workers_data_limit(run, assert_sandbox_healthy, copy):
    # Copies are not counted by the prelude; the worker's RLIMIT_DATA stops them, inside the run.
    t0 = time.perf_counter()
    result = run(
        "async function pipe(u, c, cb) { const a = new Uint8Array(2 ** 26).fill(1);"
        f" const keep = []; for (let i = 0; i < 64; i++) keep.push({copy}); cb(null, u, c); }}",
        # Copying ~1.4 GiB up to the limit takes 2-7 s on a loaded 2-core machine; a run
        # that reached the timeout would be a "timeout" step, not the RangeError below.
        timeout_ms=15000,
    )
    assert time.perf_counter() - t0 < 15
    step = result["steps"][0]
    assert step["status"] == "error" and result["decision"] == "deny"
    assert step["error"]["name"] == "RangeError"
    assert "allocation failed" in step["error"]["message"]
    assert_sandbox_healthy()


def test_a_worker_whose_run_reached_its_data_limit_is_replaced(run):
    # V8 threw this time; the process's next allocations could fail where V8 cannot throw (a
    # SIGSEGV was seen on the next run), so the worker retires once its runs are answered.
    runtime.run_pipeline(make_job(PASS_THROUGH))
    before = runtime._get_pool().worker_pids()
    result = run(
        "async function pipe(u, c, cb) { const a = new Uint8Array(2 ** 26).fill(1);"
        " const keep = []; for (let i = 0; i < 64; i++) keep.push(a.slice()); cb(null, u, c); }",
        timeout_ms=15000,
    )
    assert result["steps"][0]["error"]["message"] == "Array buffer allocation failed"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and before <= runtime._get_pool().worker_pids():
        time.sleep(0.05)
    assert not before <= runtime._get_pool().worker_pids()
    for _ in range(3):  # and the runs that follow are served as usual
        assert runtime.run_pipeline(make_job(PASS_THROUGH)).decision == "allow"


def test_workers_run_under_a_data_limit_that_follows_the_isolates_they_hold():
    runtime.run_pipeline(make_job(PASS_THROUGH))
    pool = runtime._get_pool()
    (pid, *_) = pool.worker_pids()
    with open(f"/proc/{pid}/limits") as f:
        soft, hard = next(line for line in f if line.startswith("Max data size")).split()[3:5]
    with open(f"/proc/{pid}/status") as f:
        data_kib = int(next(line for line in f if line.startswith("VmData:")).split()[1])
    mib = 1024 * 1024
    # What it maps now (its isolates, ~13 MiB each, and its threads' stacks included) + the
    # 512 MiB ceiling + 2 x 64 MiB heap + room for 48 more isolates, 16 MiB each.
    room = (512 + 128 + 48 * 16) * mib
    assert room - 100 * mib < int(soft) - data_kib * 1024 <= room + 100 * mib
    # The hard cap leaves room for every isolate it may hold: warm ones, 2 spares, 2 per slot.
    most = pool.config.max_warm_isolates + 2 + 2 * pool.config.max_runs_per_worker
    assert int(hard) - int(soft) > (most - 20) * 16 * mib
