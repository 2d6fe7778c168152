"""Supervision of the worker processes: recycling and what they inherit."""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import apps.runtime as runtime
from apps.runtime.pool import Pool, WorkerLost
from tests.runtime.conftest import PASS_THROUGH, cold_counts, killed_mid_run, make_job


def idle_worker_pids() -> set[int]:
    pool = runtime._get_pool()
    give_up = time.monotonic() + 10
    while not pool.worker_pids() and time.monotonic() < give_up:
        time.sleep(0.01)  # a retired worker is replaced in the background
    return pool.worker_pids()


def test_a_worker_over_its_memory_ceiling_is_recycled_and_runs_go_on(restore_pool: None) -> None:
    runtime.configure(
        runtime.SandboxConfig(workers=1, worker_rss_limit_mb=1)
    )  # every worker is over this ceiling
    seen: set[int] = set()
    for _ in range(3):
        assert runtime.run_pipeline(make_job(PASS_THROUGH)).decision == "allow"
        seen |= idle_worker_pids()
    assert len(seen) >= 3


def test_workers_do_not_inherit_the_hosts_environment(
    restore_pool: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GENAUTH_TEST_SECRET", "must-not-leak")
    runtime.configure(runtime.SandboxConfig(workers=1))
    runtime.run_pipeline(make_job(PASS_THROUGH))
    (pid,) = idle_worker_pids()
    with open(f"/proc/{pid}/environ", "rb") as f:
        environ = f.read()
    assert b"GENAUTH_TEST_SECRET" not in environ
    assert b"SECRET_KEY" not in environ


def test_killing_a_starting_worker_waits_for_its_reader_before_freeing_the_socket() -> None:
    """Otherwise the descriptor is reused by the next worker's socket and the old reader
    thread steals that worker's "ready" message, hanging the pool that waits for it."""
    import threading

    from apps.runtime.pool import _Worker

    worker = _Worker(runtime.SandboxConfig(workers=1))
    real_poll, real_close = worker.conn.poll, worker.close
    reader_done_at_close: list[bool] = []

    def slow_poll(timeout: float) -> bool:
        ready = real_poll(timeout)
        time.sleep(0.3)  # the reader is between poll and recv when the pool shuts down
        return ready

    def recording_close() -> None:
        reader_done_at_close.append(worker.ready.is_set())
        real_close()

    worker.conn.poll = slow_poll  # type: ignore[method-assign]
    worker.close = recording_close  # type: ignore[method-assign]
    reader = threading.Thread(target=worker.wait_ready, args=(60,), daemon=True)
    reader.start()
    time.sleep(0.05)
    worker.kill()  # while it is still starting, as a pool shutdown does to its spare
    assert reader_done_at_close == [True]
    reader.join(timeout=5)
    assert not reader.is_alive()


def test_a_worker_that_fails_in_python_answers_at_once_as_lost_and_is_replaced() -> None:
    pool = runtime._get_pool()  # started first: its start-up is not what is timed
    t0 = time.monotonic()
    with pytest.raises(WorkerLost, match="exited with status 70"):
        pool.request({"op": "run", "job": {}}, 10.0)  # no tenant_id: KeyError
    assert time.monotonic() - t0 < 5  # not the 10 s deadline (a loaded machine is slow)
    assert runtime.run_pipeline(make_job(PASS_THROUGH)).decision == "allow"


def test_the_spare_worker_builds_a_stock_of_fresh_isolates_and_the_others_do_not() -> None:
    config = runtime.SandboxConfig(workers=1, spare_worker_isolates=12)
    assert config.worker_config(spare=True)["engine"]["boot_spare_isolates"] == 12
    assert config.worker_config()["engine"]["boot_spare_isolates"] == 0
    assert "spare_worker_isolates" not in config.worker_config()["engine"]


def test_v8_is_initialised_before_the_engine_starts_a_thread() -> None:
    """On a CPU with memory protection keys V8 grants its key to the thread that initialises
    it and to threads born after: an isolate built from a thread born before crashed its
    worker in a GC. In a new process, as a worker starts, every thread the engine starts
    must find V8 initialised."""
    script = (
        "import threading\n"
        "from py_mini_racer import _dll\n"
        "early = []\n"
        "start = threading.Thread.start\n"
        "def recording(self):\n"
        "    early.append(_dll._dll_handle is None)\n"
        "    start(self)\n"
        "threading.Thread.start = recording\n"
        "from apps.runtime.config import SandboxConfig\n"
        "from apps.runtime.engine import Engine\n"
        "engine = Engine(SandboxConfig().engine_config())\n"
        "engine.refill()\n"
        "engine.provider.fresh_hot().close()\n"
        "print(early)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    started = json.loads(out.stdout.strip().lower())
    assert started and not any(started)  # threads were started, none before V8


def test_the_start_up_stock_is_used_up_and_then_kept_at_the_usual_size() -> None:
    from apps.runtime.engine import Engine

    config = runtime.SandboxConfig(spare_isolates=1, spare_worker_isolates=3)
    engine = Engine(config.engine_config(spare=True))
    while engine.provider.spares_wanted(0):
        engine.refill()
    built = [engine.provider.fresh() for _ in range(3)]
    try:
        assert engine.provider.spares_wanted(0)  # below the usual stock of 1: refill
        engine.refill()
        assert not engine.provider.spares_wanted(0)  # the start-up stock is not rebuilt
    finally:
        for isolate in built:
            isolate.close()
        while not engine.provider.spares_wanted(0):
            engine.provider.fresh().close()


def test_warm_isolates_are_evicted_a_batch_at_a_time_at_most_once_a_second() -> None:
    """Resident memory stays high for a while after isolates are freed: evicting on every
    run while it does would make every run build a new isolate."""
    from apps.runtime.engine import MemoryBudget

    budget = MemoryBudget(256)
    assert budget.may_evict()
    assert not budget.may_evict()
    budget._next_eviction = 0.0  # a second later
    assert budget.may_evict()


def _after_one_run(tenant_id: str) -> tuple[Any, Any, Any]:
    """A pool of two workers after one run of the tenant: the pool, the worker that ran it
    and the other one."""
    runtime.configure(runtime.SandboxConfig(workers=2))
    pool = runtime._get_pool()
    runtime.run_pipeline(make_job(PASS_THROUGH, tenant_id=tenant_id))
    with pool._cond:
        (ran,) = [w for w in pool._workers if tenant_id in w.tenants]
        (other,) = [w for w in pool._workers if w is not ran]
    return pool, ran, other


def _chosen(pool: Any, tenant_id: str) -> Any:
    """The worker the tenant's next run would go to now (the slot it took is given back)."""
    chosen, slot = pool._acquire(tenant_id)
    chosen.free_slots.append(slot)
    return chosen


def test_a_run_goes_to_an_idle_worker_rather_than_queue_behind_its_warm_one(
    restore_pool: None,
) -> None:
    pool, warm, idle = _after_one_run("t_sticky")
    with pool._cond:
        warm.pending.update({-n: object() for n in range(1, 4)})  # 3 runs in flight there
    try:
        assert _chosen(pool, "t_sticky") is idle
        with pool._cond:
            for n in range(1, 3):
                warm.pending.pop(-n)
        # 1 in flight: not worth a new isolate
        assert _chosen(pool, "t_sticky") is warm
    finally:
        with pool._cond:
            warm.pending.clear()


def _set_waiting(worker: Any, count: int) -> None:
    """What the worker writes in its mirror while ``count`` of its runs wait on a timer or a
    host call."""
    from apps.runtime.channel import WAITING_AT

    worker._mirror[WAITING_AT : WAITING_AT + 8] = struct.pack("d", float(count))


def test_runs_waiting_on_timers_do_not_count_as_load_when_a_run_is_placed(
    restore_pool: None,
) -> None:
    """A burst of runs awaiting timers (the elastic benchmark's 500-run waves) made its warm
    workers look busy: runs went to workers without an idle isolate of their tenant, which
    built one each, although the waits used no core."""
    pool, warm, idle = _after_one_run("t_waits")
    with pool._cond:
        warm.pending.update({-n: object() for n in range(1, 6)})  # 5 runs in flight there
    try:
        assert _chosen(pool, "t_waits") is idle  # 5 runs using the cores: a new isolate
        _set_waiting(warm, 4)  # 4 of them wait on timers: 1 uses a core
        assert warm.busy() == 1
        assert _chosen(pool, "t_waits") is warm
        _set_waiting(warm, 2)
        assert _chosen(pool, "t_waits") is idle
    finally:
        _set_waiting(warm, 0)
        with pool._cond:
            warm.pending.clear()


def test_workers_count_their_runs_waiting_on_a_timer_in_their_mirrors(
    restore_pool: None,
) -> None:
    from apps.runtime.channel import WAITING_AT

    _, ran, other = _after_one_run("t_timer")
    code = (
        "async function pipe(user, context, callback) {"
        " await new Promise((resolve) => setTimeout(resolve, 1500)); callback(null, user, context); }"
    )

    def waiting() -> float:
        return sum(
            struct.unpack("d", w._mirror[WAITING_AT : WAITING_AT + 8])[0] for w in (ran, other)
        )

    with ThreadPoolExecutor(2) as executor:
        futures = [
            executor.submit(runtime.run_pipeline, make_job(code, tenant_id="t_timer"))
            for _ in range(2)
        ]
        seen = set()
        while not all(f.done() for f in futures):
            seen.add(waiting())
            time.sleep(0.005)
        assert [f.result().decision for f in futures] == ["allow", "allow"]
    assert max(seen) == 2.0  # both runs waited on their timers at once
    assert seen <= {0.0, 1.0, 2.0}
    assert waiting() == 0.0  # and every wait has ended


def test_a_run_goes_to_the_worker_holding_an_idle_isolate_of_its_tenant(
    restore_pool: None,
) -> None:
    pool, holder, other = _after_one_run("t_idle")
    with pool._cond:
        # The reply said how many of the tenant's isolates wait idle there: the one it used.
        assert holder.tenants["t_idle"] == 1
        # The other worker ran the tenant too, and holds none of its isolates idle now (a
        # burst's runs took them); the holder is a little busier.
        other.tenants["t_idle"] = 0
        holder.pending.update({-n: object() for n in range(1, 3)})  # 2 runs in flight there
    try:
        # Not the less busy worker, which would build an isolate.
        assert _chosen(pool, "t_idle") is holder
        with pool._cond:
            holder.tenants["t_idle"] = 0  # its idle isolate taken by a run sent meanwhile
        # Neither holds one idle: the less busy of the two.
        assert _chosen(pool, "t_idle") is other
    finally:
        with pool._cond:
            holder.pending.clear()


def test_a_worker_building_isolates_for_other_runs_is_not_given_one_more_to_build(
    restore_pool: None,
) -> None:
    """A worker just put in service meets every tenant cold at once: sent all of them, it
    built isolates for each while the warm worker beside it had isolates idle."""
    from apps.runtime.pool import COLD_STARTS

    pool, holder, fresh = _after_one_run("t_cold")
    with pool._cond:
        assert holder.tenants["t_cold"] == 1 and "t_cold" not in fresh.tenants
        holder.pending.update({-n: object() for n in range(1, 6)})  # 5 runs in flight there
    try:
        # Far busier than the other: the run goes where it builds an isolate...
        assert _chosen(pool, "t_cold") is fresh
        with pool._cond:
            fresh.cold = COLD_STARTS  # ...unless that worker already builds this many
        assert _chosen(pool, "t_cold") is holder
        with pool._cond:
            holder.tenants["t_cold"] = 0
            holder.cold = COLD_STARTS
        # Neither holds one idle and both build as many: the least busy, as before.
        assert _chosen(pool, "t_cold") is fresh
        with pool._cond:
            holder.cold = COLD_STARTS - 1
        # Neither holds one idle: the one building fewer.
        assert _chosen(pool, "t_cold") is holder
        with pool._cond:
            holder.cold = COLD_STARTS + 1
            fresh.cold = COLD_STARTS
            fresh.pending.update({-n: object() for n in range(1, 7)})  # 6 in flight there
        # Both build COLD_STARTS or more: the one building fewer, however busy.
        assert _chosen(pool, "t_cold") is fresh
    finally:
        with pool._cond:
            holder.pending.clear()
            fresh.pending.clear()
            holder.cold = fresh.cold = 0


def test_a_run_sent_where_its_tenant_has_no_idle_isolate_counts_as_cold_until_answered(
    restore_pool: None,
) -> None:
    import threading

    runtime.configure(runtime.SandboxConfig(workers=1))
    pool = runtime._get_pool()
    slow = make_job(
        "async function pipe(u, c, cb) { await new Promise((r) => setTimeout(r, 400));"
        " cb(null, u, c); }",
        tenant_id="t_counted",
    )
    first = threading.Thread(target=runtime.run_pipeline, args=(slow,))
    first.start()
    try:
        give_up = time.monotonic() + 5
        while time.monotonic() < give_up:
            with pool._cond:
                (worker,) = pool._workers
                if worker.pending:
                    break
            time.sleep(0.005)
        with pool._cond:
            assert worker.cold == 1  # a new tenant: it builds an isolate for it
    finally:
        first.join()
    with pool._cond:
        assert worker.cold == 0 and worker.tenants["t_counted"] == 1
    # Its isolate is idle there now: the next run is not cold.
    warm = make_job(PASS_THROUGH, tenant_id="t_counted")
    with cold_counts(pool) as seen:
        assert runtime.run_pipeline(warm).decision == "allow"
    assert seen == [0]


def _status(pid: int, field: str) -> str:
    with open(f"/proc/{pid}/status") as f:
        return next(line.split()[1] for line in f if line.startswith(f"{field}:"))


def _one_worker_pool() -> tuple[Pool, int]:
    runtime.configure(runtime.SandboxConfig(workers=1, spare_workers=1))
    pool = runtime._get_pool()
    (pid,) = idle_worker_pids()
    return pool, pid


def test_workers_are_forked_from_a_template_that_holds_no_isolate_and_no_thread(
    restore_pool: None,
) -> None:
    """An isolate, or a thread, that exists at fork() breaks the child: the template has
    only imported the code and loaded mini-racer's library, and V8 starts in each worker."""
    runtime.configure(runtime.SandboxConfig(workers=1))
    assert runtime.run_pipeline(make_job(PASS_THROUGH)).decision == "allow"
    pool = runtime._get_pool()
    template = pool._forkserver
    assert template is not None and template.alive
    (pid,) = idle_worker_pids()
    assert int(_status(pid, "PPid")) == template.proc.pid
    assert _status(template.proc.pid, "Threads") == "1"
    with open(f"/proc/{template.proc.pid}/maps") as f:
        assert "libmini_racer" in f.read()  # loaded (and relocated) once, before the fork
    # No isolate there: the first one maps V8's reservations (~530 MiB of address space).
    assert int(_status(template.proc.pid, "VmData").split()[0]) < 256 * 1024
    assert int(_status(pid, "VmData").split()[0]) > 512 * 1024
    assert int(_status(pid, "Threads")) > 1  # the worker's own threads and its isolates'


def test_a_new_worker_runs_all_its_request_threads_and_measures_every_run(
    restore_pool: None,
) -> None:
    """A worker starts its request threads all at once (worker.start_together) before it says
    it is ready: runs sent at once to a new worker are served together, and the isolates built
    for them have their own thread known, so each run's CPU is measured (an unknown thread
    reads as 0 ms)."""
    runtime.configure(runtime.SandboxConfig(workers=1, spare_workers=0))
    spins = (
        "async function pipe(u, c, cb) { let x = 0; for (let i = 0; i < 3e7; i++) x += i;"
        " u.x = x; cb(null, u, c); }"
    )
    jobs = [make_job(spins, tenant_id=f"t_start_{n}") for n in range(16)]
    with ThreadPoolExecutor(16) as executor:
        metered = list(executor.map(runtime.run_pipeline_metered, jobs))
    assert [result.decision for result, _ in metered] == ["allow"] * 16
    assert min(cpu_ms for _, cpu_ms in metered) >= 5
    (pid,) = runtime._get_pool().worker_pids()
    # Its 64 request threads, the refill thread and the heartbeat, besides the isolates'.
    assert int(_status(pid, "Threads")) >= 64 + 2


def test_a_forked_worker_that_dies_is_reported_with_its_signal_and_replaced(
    restore_pool: None,
) -> None:
    pool, pid = _one_worker_pool()
    result, _ = killed_mid_run(pool, pid, timer_ms=5000)
    assert result.error is not None and result.error["code"] == "sandbox_crashed"
    error = result.steps[0].error
    assert error is not None and "killed by SIGKILL" in error["message"]
    assert runtime.run_pipeline(make_job(PASS_THROUGH)).decision == "allow"
    assert pid not in pool.worker_pids()


@pytest.mark.parametrize("restart_s", [3600.0, 0.0])
def test_without_its_template_the_pool_spawns_or_starts_another_and_sees_forked_ones_end(
    restore_pool: None, monkeypatch: pytest.MonkeyPatch, restart_s: float
) -> None:
    """A template that is gone is started again, at most every TEMPLATE_RESTART_S; workers
    are spawned meanwhile."""
    monkeypatch.setattr("apps.runtime.pool.TEMPLATE_RESTART_S", restart_s)
    pool, forked = _one_worker_pool()
    template = pool._forkserver
    assert template is not None
    os.kill(template.proc.pid, signal.SIGKILL)
    give_up = time.monotonic() + 10
    while template.alive and time.monotonic() < give_up:
        time.sleep(0.01)
    assert not template.alive
    t0 = time.monotonic()
    # No template to report its status: read from /proc while it ends, if still there.
    with pytest.raises(WorkerLost, match=r"The sandbox process (ended|exited with status 70)"):
        pool.request({"op": "run", "job": {}}, 10.0)  # no tenant_id: the worker exits
    assert time.monotonic() - t0 < 5
    assert runtime.run_pipeline(make_job(PASS_THROUGH)).decision == "allow"  # the spare
    assert forked not in pool.worker_pids()
    give_up = time.monotonic() + 30
    while not pool._spares and time.monotonic() < give_up:
        time.sleep(0.01)  # the next spare is started in the background
    (spare,) = pool._spares
    parent = int(_status(spare.proc.pid, "PPid"))
    if restart_s:
        assert parent == os.getpid()  # spawned: too soon for another template
    else:
        assert pool._forkserver is not None and pool._forkserver is not template
        assert parent == pool._forkserver.proc.pid  # forked from the new template


def test_a_lost_workers_runs_are_answered_before_its_end_is_awaited(
    restore_pool: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A loaded process takes a while to see a killed worker reaped (a forked worker's status
    comes through the template): the runs it held must not wait for that."""
    import threading

    from apps.runtime.pool import _Worker

    _, pid = _one_worker_pool()
    real_kill = _Worker.kill

    def slow_kill(worker: _Worker) -> None:
        time.sleep(1.0)
        real_kill(worker)

    monkeypatch.setattr(_Worker, "kill", slow_kill)
    waits = "async function pipe(u, c, cb) { await new Promise(r => setTimeout(r, 2000)); cb(null, u, c); }"
    answered: list[float] = []

    def run() -> None:
        result = runtime.run_pipeline(make_job(waits, timeout_ms=3000))
        assert result.error is not None and result.error["code"] == "sandbox_crashed"
        answered.append(time.monotonic())

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    killed_at = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    for thread in threads:
        thread.join(timeout=10)
    assert len(answered) == 2
    # The thread reading the socket sees the end and kills; the other is answered at once.
    assert min(answered) - killed_at < 0.5


def test_a_forked_worker_is_known_gone_before_its_status_comes() -> None:
    """Its status comes from the template: until then it reads as ended, not as running
    (a lost worker's runs would otherwise be said to have missed their deadline)."""
    from apps.runtime.forkserver import ForkedProcess

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.3)"])
    process = ForkedProcess(child.pid)  # no template: nothing will report its status
    assert not process.gone()
    give_up = time.monotonic() + 10
    while not process.gone() and time.monotonic() < give_up:
        time.sleep(0.01)
    assert process.gone()
    assert process.poll() is None
    child.wait()


def test_a_template_that_does_not_answer_is_ended_and_forks_no_more() -> None:
    """Otherwise a child it forked late would share its descriptors with the process the
    pool spawned instead."""
    import socket

    from apps.runtime.forkserver import ForkServer
    from apps.runtime.pool import _ROOT, worker_env

    template = ForkServer(worker_env(), _ROOT)
    template._started.wait(30)
    assert template.alive
    os.kill(template.proc.pid, signal.SIGSTOP)
    ours, theirs = socket.socketpair()
    mirror = os.memfd_create("test-mirror")
    try:
        assert template.fork(["{}"], (theirs.fileno(), mirror), 0.5) is None
        assert template.proc.poll() is not None  # ended, not left stopped
        assert template.fork(["{}"], (theirs.fileno(), mirror), 0.5) is None
    finally:
        ours.close()
        theirs.close()
        os.close(mirror)


def _sandbox_processes(pool: Pool) -> set[int]:
    """The live worker processes this pool started: forked by its template or spawned."""
    template = pool._forkserver.proc.pid if pool._forkserver is not None else None
    parents = {os.getpid(), template}
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == template:
            continue
        try:
            state, parent = _status(int(entry), "State"), int(_status(int(entry), "PPid"))
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
        except (OSError, StopIteration):  # ended meanwhile
            continue
        if state != "Z" and parent in parents and b"apps.runtime" in cmdline:
            found.add(int(entry))
    return found


@pytest.mark.parametrize("spares", [1, 2])
def test_two_workers_lost_at_once_leave_the_spares_and_no_process_unknown_to_the_pool(
    restore_pool: None, spares: int
) -> None:
    runtime.configure(runtime.SandboxConfig(workers=2, spare_workers=spares))
    pool = runtime._get_pool()
    first = pool.worker_pids()
    for pid in first:
        os.kill(pid, signal.SIGKILL)
    give_up = time.monotonic() + 30
    while time.monotonic() < give_up:
        ready = [s for s in pool._spares if s.ready.is_set()]
        serving = pool.worker_pids()
        if len(serving) == 2 and not serving & first and len(ready) == spares:
            break
        time.sleep(0.01)
    time.sleep(0.3)  # one more spare, if one were started, would be running by now
    assert len(pool._spares) == spares
    spare_pids = {spare.proc.pid for spare in pool._spares}
    assert _sandbox_processes(pool) == pool.worker_pids() | spare_pids
    assert runtime.run_pipeline(make_job(PASS_THROUGH)).decision == "allow"
