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
    for name in ("start", "pump", "buffer", "define", "check", "snapshot"):
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


def _start(isolate: Isolate, seq: int, codes: list[str]) -> dict:
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
    }
    return json.loads(isolate.eval(isolate.driver("start", json.dumps(json.dumps(payload)))))


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
