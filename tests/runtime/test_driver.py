"""The JS driver's host protocol: only the worker may drive it, and the watchdog reads its
progress marks only when they are consistent."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from apps.runtime.engine import code_key, compile_into
from apps.runtime.isolate import Isolate, Watchdog
from apps.runtime.results import DEFAULT_LIMITS, empty_state

RESERVED = "__gp is reserved for the sandbox host"


def test_tenant_code_cannot_drive_the_driver(run):
    probe = """
    async function pipe(user, context, callback) {
      const tries = {
        start: () => __gp.start("guess", "{}"),
        pump: () => __gp.pump(undefined, null),
        next: () => __gp.next(),
        finish: () => __gp.finish("0".repeat(32)),
        buffer: () => new Float64Array(__gp.buffer("0".repeat(32)))[2] = 1,
        define: () => __gp.define(null, "k", () => () => 1),
        check: () => __gp.check("", "k"),
        snapshot: () => __gp.snapshot(),
        seal: () => __gp.seal("x".repeat(40)),
      };
      for (const [name, attempt] of Object.entries(tries)) {
        try { attempt(); user[name] = "worked"; } catch (e) { user[name] = e.message; }
      }
      user.keys = Object.keys(__gp).sort();
      callback(null, user, context);
    }
    """
    result = run(probe, "async function pipe(u, c, cb) { u.after = true; cb(null, u, c); }")
    user = result["user"]
    for name in ("start", "pump", "next", "finish", "buffer", "define", "check", "snapshot"):
        assert user[name] == RESERVED, name
    assert user["seal"] == "__gp is already sealed"
    assert "hostCall" not in user["keys"]
    assert [s["status"] for s in result["steps"]] == ["ok", "ok"]
    assert user["after"] is True


@pytest.fixture(scope="module")
def isolate() -> Iterator[Isolate]:
    isolate = Isolate(heap_mb=64)
    yield isolate
    isolate.close()


def _payload(isolate: Isolate, seq: int, codes: list[str], **extra: object) -> str:
    """The start's argument for a run of ``codes`` (compiled into ``isolate`` here)."""
    steps = []
    for code in codes:
        key = code_key(code)
        assert compile_into(isolate, key, code) is None
        steps.append({"key": key, "name": "f", "compile_error": None})
    payload = {
        "seq": seq,
        "trigger": "PRE_REGISTER",
        "steps": steps,
        "start_index": 0,
        "state": empty_state({"id": "u"}, {}),
        "limits": DEFAULT_LIMITS,
        "env": {},
        **extra,
    }
    return json.dumps(json.dumps(payload))


def _start(isolate: Isolate, seq: int, codes: list[str]) -> dict:
    return json.loads(isolate.eval(isolate.driver("start", _payload(isolate, seq, codes))))


def test_a_new_run_never_shows_the_previous_runs_step_start_under_its_own_seq(isolate):
    done = _start(isolate, 1, ["async function pipe(u, c, cb) { cb(null, u, c); }"])
    assert done["done"] and done["outcome"] == {"kind": "ok"}
    assert (isolate.marks[0], isolate.marks[1]) == (1, 0)
    assert isolate.marks[2] < 0  # the step ended: "idle since", never a start

    # Once a later run's seq is in the marks, a step start left by the run before would give
    # the watchdog a deadline long past: the driver clears it first.
    _start(isolate, 2, [])
    assert isolate.marks[0] == 2
    assert isolate.marks[2] == 0


def _chain(isolate: Isolate, seq: int, codes: list[str], start: str | None = None) -> list[str]:
    """The start (or ``start``), a next per later step and the finish, as the engine queues them."""
    payload = _payload(isolate, seq, codes, chained=True)
    first = start or isolate.driver("start", payload)
    nexts = [isolate.driver("next")] * (len(codes) - 1)
    return [first, *nexts, isolate.driver("finish")]


def _no_deadline() -> Watchdog:
    return Watchdog(-1, 0, lambda index, started: started + 60, lambda index: None)


def test_a_chain_of_synchronous_steps_is_one_hand_off_and_its_own_idle_proof(isolate):
    codes = [
        f"function pipe(u, c, cb) {{ u.n = (u.n || 0) + {i}; cb(null, u, c); }}" for i in (1, 2, 3)
    ]
    # The chain answers what its last entry, the finish, hands over.
    state = json.loads(isolate.eval_chain(_chain(isolate, 20, codes), watchdog=_no_deadline()))
    assert state["done"] and state["outcome"] == {"kind": "ok"}
    assert [r["status"] for r in state["records"]] == ["ok", "ok", "ok"]
    assert state["user"]["n"] == 6
    # The finish started no step itself: every microtask of the run had run before it.
    assert state["idle"] is True
    # Entry by entry: the start and each next answer the state so far, which is what the
    # worker reads when a chain stops behind them.
    answers = [isolate.eval(entry) for entry in _chain(isolate, 24, codes)]
    assert [len(json.loads(a)["records"]) for a in answers[:-1]] == [1, 2, 3]
    assert json.loads(answers[-1])["user"]["n"] == 6


def test_a_finish_that_had_to_start_a_step_is_no_idle_proof(isolate):
    # The first step settles only in a timer: the next entries find it pending and the run
    # goes on in pumps; the finish proves nothing, the engine's quiesce does.
    codes = [
        "function pipe(u, c, cb) { setTimeout(() => cb(null, u, c), 5); }",
        "function pipe(u, c, cb) { cb(null, u, c); }",
    ]
    state = json.loads(isolate.eval_chain(_chain(isolate, 21, codes), watchdog=_no_deadline()))
    assert not state["done"] and state["running"] == 0
    assert "idle" not in state


def test_a_chain_stops_at_the_entry_that_failed(isolate):
    from py_mini_racer import JSEvalException

    # A run left in flight (a step waiting on its timer), then a start that throws: the
    # next and finish entries queued behind it must not move the old run on.
    pending = [
        "function pipe(u, c, cb) { setTimeout(() => cb(null, u, c), 1000); }",
        "function pipe(u, c, cb) { u.moved = 1; cb(null, u, c); }",
    ]
    isolate.eval_chain(_chain(isolate, 22, pending), watchdog=_no_deadline())
    broken = _chain(isolate, 23, pending, start=isolate.driver("start", '"not json"'))
    with pytest.raises(JSEvalException) as failed:
        isolate.eval_chain(broken, watchdog=_no_deadline())
    assert failed.value.answers == ()  # the start was the first task
    assert isolate.marks[6] == 1
    state = json.loads(isolate.eval(isolate.driver("snapshot")))
    assert state["seq"] == 22 and state["running"] == 0 and state["records"] == []


def test_a_chain_that_fails_midway_raises_with_what_the_tasks_before_answered(isolate):
    from py_mini_racer import JSEvalException

    # Only the last answer of a chain that ends is read; one that fails midway is found
    # by the failed task's answer, and raises with the answers before it.
    chain = ["'a'", "'b'", "throw new Error('third')", "'d'"]
    with pytest.raises(JSEvalException, match="third") as failed:
        isolate.eval_chain(chain, watchdog=_no_deadline())
    assert failed.value.answers == ("a", "b")
    assert isolate.eval_chain(["'a'", "'b'"], watchdog=_no_deadline()) == "b"


def test_a_cut_chain_runs_none_of_the_tasks_behind_the_one_cut(monkeypatch) -> None:
    from apps.runtime import isolate as isolate_module
    from apps.runtime.isolate import EvalCut

    # The terminated task answers within microseconds, unless a loaded host keeps the
    # isolate's thread off the cores for longer than the grace (then it counts as wedged).
    monkeypatch.setattr(isolate_module, "CANCEL_GRACE_S", 2.0)
    isolate = Isolate(heap_mb=64)
    try:
        watchdog = Watchdog(-1, 0, lambda index, started: started + 0.1, lambda index: None)
        with pytest.raises(EvalCut) as cut:
            isolate.eval_chain(
                ["globalThis.a = 1", "while (true) {}", "globalThis.b = 1"], watchdog=watchdog
            )
        assert cut.value.answers == (1,)
        assert isolate.broken and not isolate.wedged
        # A terminated isolate still answers: the task behind the loop never ran.
        assert isolate.eval("[globalThis.a, typeof globalThis.b].join()") == "1,undefined"
    finally:
        isolate.close()


def test_the_driver_refuses_a_wrong_token_from_the_host_too(isolate):
    from py_mini_racer import JSEvalException

    with pytest.raises(JSEvalException, match=RESERVED):
        isolate.eval('__gp.snapshot("' + "0" * 32 + '")')


def _watchdog(seq: int, progress: list[int]) -> Watchdog:
    return Watchdog(seq, 0, lambda index, started: started + 1.0 + index, progress.append)


def test_the_watchdog_uses_the_fallback_until_the_driver_takes_the_run_up():
    progress: list[int] = []
    watchdog = _watchdog(7, progress)
    remaining = watchdog.remaining([6.0, 3.0, 1000.0])  # another run's marks
    assert 0.9 < remaining <= 1.0
    assert progress == [0]


def test_the_watchdog_reads_no_deadline_while_a_step_is_starting():
    progress: list[int] = []
    watchdog = _watchdog(7, progress)
    # This run's seq with the start cleared: the index may be a step that already ended.
    assert watchdog.remaining([7.0, 3.0, 0.0]) == Watchdog.POLL_S
    assert progress == []
    assert watchdog.last_running([7.0, 3.0, 0.0]) == (0, watchdog.fallback_start)


def test_the_watchdog_cuts_at_the_running_steps_own_deadline():
    progress: list[int] = []
    watchdog = _watchdog(7, progress)
    started = time.time() - 3.5
    remaining = watchdog.remaining([7.0, 2.0, started * 1000])
    assert -0.6 < remaining < -0.4  # step 2 may take 3 s from its start
    assert progress == [2]


def test_an_isolate_knows_its_thread_while_python_threads_are_being_started() -> None:
    # A worker starts its run threads on demand, possibly while an isolate is being built:
    # the isolate must still find its own thread, or its CPU reads as 0 and goes uncharged.
    import threading

    stop = threading.Event()

    def start_threads() -> None:
        while not stop.is_set():
            threads = [threading.Thread(target=time.sleep, args=(0.002,)) for _ in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

    starter = threading.Thread(target=start_threads)
    starter.start()
    isolates = []
    try:
        for _ in range(10):
            isolates.append(Isolate(heap_mb=64))
    finally:
        stop.set()
        starter.join()
    try:
        assert all(isolate.tid is not None for isolate in isolates)
        busy = isolates[-1]
        before = busy.cpu_s()
        busy.eval("let x = 0; for (let i = 0; i < 2e7; i++) x = (x + i) % 7; x", timeout_s=10)
        assert busy.cpu_s() - before > 0.005
    finally:
        for isolate in isolates:
            isolate.close()


@pytest.mark.parametrize("staged", [True, False])
def test_the_start_payload_arrives_whole_through_the_buffer_or_the_script(
    monkeypatch: pytest.MonkeyPatch, staged: bool
) -> None:
    """The worker hands start()'s payload in the shared buffer (the script calling start is
    then the same text every run); when it does not fit there, in the script."""
    import apps.runtime as runtime
    from apps.runtime.engine import Engine

    from .conftest import PASS_THROUGH, make_job

    real_stage = Isolate.stage_payload
    used: list[bool] = []

    def stage(self: Isolate, text: str) -> bool:
        used.append(staged and real_stage(self, text))
        return used[-1]

    monkeypatch.setattr(Isolate, "stage_payload", stage)
    engine = Engine(runtime.SandboxConfig(spare_isolates=0).engine_config())
    user = {
        "id": "u_1",
        "name": "Zoë 名前 🎉 \u2028\u2029",
        "escapes": 'a"b\\c\n\t\u0001',
        "long": "x" * 20_000 + "é",
    }
    context = {"ip": "10.0.0.1", "nested": {"emoji": "🙂" * 9000}}
    job = make_job(PASS_THROUGH, PASS_THROUGH, user=user, context=context).to_wire()
    for _ in range(2):  # the second run reuses the warm isolate and its buffer
        result, _cpu = engine.run_job(job, lambda _index: None)
        assert result["decision"] == "allow"
        assert {k: v for k, v in result["user"].items() if k != "touched"} == user
        assert result["context"] == context
    assert used == [staged, staged]


def test_a_rebound_global_cannot_forge_the_next_runs_payload() -> None:
    """The driver reads the payload with what it captured before any tenant code ran: a
    function that rebinds the globals it would use changes nothing of its next run."""
    import apps.runtime as runtime
    from apps.runtime.engine import Engine

    from .conftest import PASS_THROUGH, make_job

    engine = Engine(runtime.SandboxConfig(spare_isolates=0).engine_config())
    rebind = (
        "function pipe(u, c, cb) {"
        " for (const name of ['Uint16Array', 'Uint8Array', 'JSON', 'String', 'Reflect']) {"
        "   try { globalThis[name] = function () { throw new Error('hijacked ' + name); }; }"
        "   catch (e) {} }"
        " cb(null, u, c); }"
    )
    first, _cpu = engine.run_job(make_job(rebind, tenant_id="t_rebind").to_wire(), lambda _i: None)
    assert first["decision"] == "allow"
    user = {"id": "u_2", "email": "bo@example.com"}
    job = make_job(PASS_THROUGH, tenant_id="t_rebind", user=user).to_wire()
    second, _cpu = engine.run_job(job, lambda _i: None)
    assert engine.provider.tenants() == 1  # the same warm isolate served both
    assert second["decision"] == "allow", second
    assert second["user"] == {**user, "touched": True}


def test_leftover_code_is_given_cpu_time_not_wall_time_before_it_is_cut():
    # A step ended 200 ms ago and no step followed: the chain's finish entry still waits. On a
    # loaded host that is an isolate thread waiting for a core, not code left running: what
    # counts is the CPU its thread used since, up to a wall-time cap.
    watchdog = Watchdog(7, 0, lambda index, started: started + 60, lambda index: None)
    ended = time.time() - 0.2
    marks = [7.0, 0.0, -ended * 1000, 0.0]
    cpu = iter([1.0, 1.0, 1.03, 1.06])
    assert watchdog.remaining(marks, lambda: next(cpu)) == pytest.approx(0.05)
    assert watchdog.remaining(marks, lambda: next(cpu)) == pytest.approx(0.05)
    assert watchdog.remaining(marks, lambda: next(cpu)) == pytest.approx(0.02)
    assert watchdog.remaining(marks, lambda: next(cpu)) <= 0  # 60 ms of CPU: leftover code
    # Where the thread's CPU cannot be read, wall time decides, as it does past the cap.
    assert watchdog.remaining(marks) < 0
    marks[2] = -(time.time() - Watchdog.LEFTOVER_WALL_CAP_S - 0.01) * 1000
    assert watchdog.remaining(marks, lambda: 1.06) <= 0
    # A later step's end is measured from its own start of idleness.
    marks[2] = -(time.time() - 0.2) * 1000
    assert watchdog.remaining(marks, lambda: 5.0) == pytest.approx(0.05)
    # While a step runs, its own deadline decides.
    marks[2] = (time.time() - 0.2) * 1000
    assert 59 < watchdog.remaining(marks, lambda: 9.0) < 60


def test_an_isolate_whose_build_fails_or_overruns_is_not_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Building queues our scripts at once: the first one that throws is raised, even when
    the scripts after it ran; one that does not end in time is cut. Either way the isolate is
    freed, not counted as live."""
    from py_mini_racer import JSEvalException

    from apps.runtime import isolate as isolate_module
    from apps.runtime.isolate import EvalCut, live_isolates

    before = live_isolates()
    monkeypatch.setattr(isolate_module, "_MODULES", 'throw new Error("modules broke");')
    with pytest.raises(JSEvalException, match="modules broke"):
        Isolate(heap_mb=64)
    assert live_isolates() == before

    monkeypatch.undo()
    monkeypatch.setattr(isolate_module, "_MODULES", "for (;;) {}")
    monkeypatch.setattr(isolate_module, "BUILD_TIMEOUT_S", 0.2)
    started = time.monotonic()
    with pytest.raises(EvalCut):
        Isolate(heap_mb=64)
    assert time.monotonic() - started < 5
    assert live_isolates() == before

    monkeypatch.undo()
    built = Isolate(heap_mb=64)  # and the next build is sound
    try:
        assert built.eval("typeof __gp") == "object"
    finally:
        built.close()


def test_the_sandbox_scripts_are_ascii() -> None:
    """V8 keeps a script with one character outside Latin-1 as two bytes a character, and
    decodes and scans all of it so: one `…` in the prelude cost 4% of every isolate's build
    (benchmarks/isolate_build.py --instructions). Write such characters as escapes."""
    from pathlib import Path

    import apps.runtime

    folder = Path(apps.runtime.__file__).parent
    for name in ("polyfills.js", "modules.js", "prelude.js", "lodash.min.js"):
        text = (folder / name).read_text(encoding="utf-8")
        outside = sorted({c for c in text if ord(c) > 127})
        assert not outside, f"{name} holds {outside}"
