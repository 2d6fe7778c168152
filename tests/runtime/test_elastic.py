"""Waiting costs no worker: runs that await timers share a worker with everyone else's."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time

import pytest

import apps.runtime as runtime
from tests.runtime.conftest import PASS_THROUGH, make_job

# Notes when it started and when its timer fired (epoch ms, from the isolate's own clock).
AWAITS = (
    "async function pipe(user, context, callback) {"
    "  user.started = Date.now();"
    "  await new Promise((resolve) => setTimeout(resolve, %d));"
    "  user.woke = Date.now(); callback(null, user, context); }"
)


def in_threads(count: int, job: runtime.PipelineJob) -> tuple[list[threading.Thread], list[dict]]:
    results: list[dict] = []
    threads = [
        threading.Thread(target=lambda: results.append(runtime.run_pipeline(job).to_wire()))
        for _ in range(count)
    ]
    for thread in threads:
        thread.start()
    return threads, results


def test_runs_awaiting_timers_are_in_flight_together_on_one_worker(restore_pool: None) -> None:
    runtime.configure(runtime.SandboxConfig(workers=1))
    job = make_job(AWAITS % 800, tenant_id="t_waits")
    for _ in range(2):  # the first wave builds the isolates; the second finds them warm
        threads, results = in_threads(12, job)
        for thread in threads:
            thread.join(timeout=30)
    assert [r["decision"] for r in results] == ["allow"] * 12
    users = [r["user"] for r in results]
    # Every run had started before the first one woke: none waited for another's timer.
    assert max(u["started"] for u in users) < min(u["woke"] for u in users)


def test_a_tenant_awaiting_timers_does_not_hold_up_another_tenant(restore_pool: None) -> None:
    runtime.configure(runtime.SandboxConfig(workers=1, max_runs_per_worker=32))
    runtime.run_pipeline(make_job(PASS_THROUGH, tenant_id="t_quick"))  # warm
    threads, slow = in_threads(16, make_job(AWAITS % 1500, tenant_id="t_slow", timeout_ms=3000))
    time.sleep(0.2)
    quick = [
        runtime.run_pipeline(make_job(PASS_THROUGH, tenant_id="t_quick")).to_wire()
        for _ in range(50)
    ]
    # All of the other tenant's runs were answered while the slow ones still waited.
    assert slow == []
    assert all(r["decision"] == "allow" and r["user"]["touched"] for r in quick)
    for thread in threads:
        thread.join(timeout=30)
    assert [r["decision"] for r in slow] == ["allow"] * 16


def test_a_full_worker_queues_runs_instead_of_failing_them(restore_pool: None) -> None:
    runtime.configure(runtime.SandboxConfig(workers=1, max_runs_per_worker=2))
    threads, results = in_threads(6, make_job(AWAITS % 200, tenant_id="t_queue"))
    for thread in threads:
        thread.join(timeout=30)
    assert [r["decision"] for r in results] == ["allow"] * 6
    users = sorted((r["user"] for r in results), key=lambda u: u["started"])
    # Two at a time: the third started only after one of the first two had finished.
    assert users[2]["started"] >= min(users[0]["woke"], users[1]["woke"])


def test_a_worker_killed_with_runs_in_flight_answers_each_of_them(restore_pool: None) -> None:
    runtime.configure(runtime.SandboxConfig(workers=1))
    runtime.run_pipeline(make_job(PASS_THROUGH, tenant_id="t_doomed"))
    (pid,) = runtime._get_pool().worker_pids()
    threads, results = in_threads(5, make_job(AWAITS % 2000, tenant_id="t_doomed"))
    time.sleep(0.4)

    os.kill(pid, signal.SIGKILL)
    for thread in threads:
        thread.join(timeout=30)
    assert len(results) == 5
    for result in results:
        assert result["decision"] == "deny"
        assert result["error"]["code"] == "sandbox_crashed"
        assert "killed by SIGKILL" in result["steps"][0]["error"]["message"]
    # A spare took its place.
    assert runtime.run_pipeline(make_job(PASS_THROUGH)).decision == "allow"
    assert pid not in runtime._get_pool().worker_pids()


@pytest.mark.parametrize("flavour", ["plain", "async"])
def test_concurrent_runs_of_one_tenant_never_see_each_others_state(
    flavour: str, restore_pool: None
) -> None:
    runtime.configure(runtime.SandboxConfig(workers=1))
    code = (
        "%sfunction pipe(user, context, callback) {"
        "  globalThis.owner = user.id;"
        "  setTimeout(() => callback(null, {...user, seen: globalThis.owner}, context), 300); }"
    ) % ("async " if flavour == "async" else "")
    results: list[dict] = []

    def one(n: int) -> None:
        job = make_job(code, tenant_id="t_shared", user={"id": f"u{n}"})
        results.append(runtime.run_pipeline(job).to_wire())

    threads = [threading.Thread(target=one, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    # Each run in flight has an isolate of its own: no run saw another run's global.
    assert sorted(r["user"]["seen"] for r in results) == sorted(f"u{n}" for n in range(8))
    assert all(r["user"]["seen"] == r["user"]["id"] for r in results)


def _thread_nices(pid: int) -> list[int]:
    nices = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                nices.append(int(f.read().rsplit(")", 1)[1].split()[16]))
        except OSError:
            pass  # the thread ended
    return nices


BURNS_2S = (
    "function pipe(user, context, callback) {"
    "  const until = Date.now() + 2000; while (Date.now() < until) {} callback(null, user, context); }"
)


def test_a_run_that_burns_cpu_runs_at_a_lower_priority_while_it_does(restore_pool: None) -> None:
    runtime.configure(runtime.SandboxConfig(workers=1))
    runtime.run_pipeline(make_job(PASS_THROUGH, tenant_id="t_light"))
    (pid,) = runtime._get_pool().worker_pids()
    # One thread runs at nice 19 from the start: the one that builds isolates for hot tenants.
    assert _thread_nices(pid).count(19) == 1
    threads, results = in_threads(1, make_job(BURNS_2S, tenant_id="t_heavy", timeout_ms=5000))
    # And the burning isolate's, once past 50 ms of CPU (seen within 1.5 s on a busy machine).
    give_up = time.monotonic() + 1.5
    while _thread_nices(pid).count(19) < 2 and time.monotonic() < give_up:
        time.sleep(0.05)
    assert _thread_nices(pid).count(19) == 2
    for thread in threads:
        thread.join(timeout=30)
    assert results[0]["decision"] == "allow"
    # The tenant is hot now: its next isolate starts at the lower priority; another tenant's
    # does not (its isolate's thread is given back the normal priority, or replaced).
    from apps.runtime import fairshare

    load = fairshare.TenantLoad()
    load.add("t_heavy", fairshare.HOT_CPU_S + 0.5)
    assert load.hot("t_heavy") and not load.hot("t_light")
    assert runtime.run_pipeline(make_job(PASS_THROUGH, tenant_id="t_light")).decision == "allow"


def test_a_hot_tenant_yields_to_others_but_not_when_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    from apps.runtime import fairshare

    slept: list[float] = []
    monkeypatch.setattr(fairshare.time, "sleep", slept.append)
    load = fairshare.TenantLoad()
    load.add("t_hot", fairshare.HOT_CPU_S + 0.2)
    load.yield_to_others("t_hot")
    assert slept == []  # nobody else ran: the cores are its to use
    # A busy tenant below the threshold (e.g. a thousand quick runs a second) is not hot.
    load.add("t_other", fairshare.HOT_CPU_S * 0.9)
    load.yield_to_others("t_other")  # not hot: no wait
    load.yield_to_others("t_hot")
    assert len(slept) == 1 and 0.15 < slept[0] <= 0.2
    load.add("t_hot", 5.0)
    load.yield_to_others("t_hot")
    assert slept[-1] == fairshare.MAX_YIELD_S


def test_the_load_account_forgets_cooled_tenants_without_rereading_active_ones_each_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from apps.runtime import fairshare

    now = [1000.0]
    monkeypatch.setattr(fairshare.time, "monotonic", lambda: now[0])
    load = fairshare.TenantLoad()
    account, passes = load._load, 0
    for n in range(3 * fairshare.FORGET_AT):  # more tenants than that, all active
        load.add(f"t_{n}", 0.001)
        if load._load is not account:  # each pass over them builds a new dict
            account, passes = load._load, passes + 1
    assert passes <= 2  # not one per run past FORGET_AT
    now[0] += 10 * fairshare.HOT_WINDOW_S + 1  # all of them cooled down
    for n in range(4 * fairshare.FORGET_AT):
        load.add(f"u_{n}", 0.001)
    assert len(load._load) <= 4 * fairshare.FORGET_AT  # the cooled ones were forgotten
    assert "t_0" not in load._load


def test_isolates_for_a_hot_tenant_are_built_and_run_at_the_lower_priority() -> None:
    from apps.runtime.engine import Engine

    engine = Engine(runtime.SandboxConfig(spare_isolates=0).engine_config())
    cool = engine.provider.acquire("t_cool")
    hot = engine.provider.acquire("t_hot", hot=True)
    try:
        nices = {}
        for name, isolate in (("cool", cool), ("hot", hot)):
            with open(f"/proc/self/task/{isolate.tid}/stat") as f:
                nices[name] = int(f.read().rsplit(")", 1)[1].split()[16])
        assert nices == {"cool": 0, "hot": 19}
        assert hot.nice == 19 and cool.nice == 0
    finally:
        cool.close()
        hot.close()


# Keeps its core busy for a while, inside one step (the thread that read it waits on V8).
SPINS = (
    "async function pipe(user, context, callback) {"
    "  const until = Date.now() + %d; while (Date.now() < until) {}"
    "  callback(null, user, context); }"
)


def test_a_run_busy_in_its_isolate_does_not_hold_up_the_next_request(restore_pool: None) -> None:
    """The thread that read a request keeps reading the channel while its run is in V8; the
    next request, arriving meanwhile, is read and answered by another thread at once."""
    runtime.configure(runtime.SandboxConfig(workers=1))
    runtime.run_pipeline(make_job(PASS_THROUGH, tenant_id="t_quick"))  # warm
    runtime.run_pipeline(make_job(SPINS % 1, tenant_id="t_spins"))
    threads, slow = in_threads(1, make_job(SPINS % 1500, tenant_id="t_spins", timeout_ms=3000))
    time.sleep(0.3)
    started = time.monotonic()
    quick = runtime.run_pipeline(make_job(PASS_THROUGH, tenant_id="t_quick")).to_wire()
    waited = time.monotonic() - started
    assert quick["decision"] == "allow" and quick["user"]["touched"]
    assert slow == [] and waited < 0.5  # answered while the other run still spun
    threads[0].join(timeout=30)
    assert slow[0]["decision"] == "allow"


def test_requests_read_in_one_go_are_answered_side_by_side(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two requests that reach the worker in one read: the second is not left in the
    channel's buffer, where no poll can see it, until the first one's run is over."""
    from apps.runtime import channel, wire, worker
    from apps.runtime.channel import Channel, mirror_size
    from apps.runtime.engine import Engine

    monkeypatch.setattr(channel, "read_duty", None)  # Server sets the process's duty
    engine = Engine(runtime.SandboxConfig(spare_isolates=0).engine_config())
    ours, theirs = socket.socketpair()
    mirror_fd = os.memfd_create("test-mirror")
    os.ftruncate(mirror_fd, mirror_size(4))
    worker.Server(Channel(theirs), worker.Mirror(mirror_fd, 4), engine, 1 << 20, 4)
    caller = Channel(ours)
    warm = make_job(SPINS % 1, tenant_id="t_spins").to_wire()
    caller.send(wire.dumps({"op": "run", "job": warm, "id": 0, "slot": 0}))
    assert wire.loads(caller.recv(10))["id"] == 0  # the tenant's isolate is warm: no hand-off
    slow = make_job(SPINS % 1500, tenant_id="t_spins", timeout_ms=3000).to_wire()
    frames = [
        wire.dumps({"op": "run", "job": slow, "id": 1, "slot": 0}),
        wire.dumps({"op": "ping", "id": 2, "slot": 1}),
    ]
    started = time.monotonic()
    ours.sendall(b"".join(len(f).to_bytes(4, "big") + f for f in frames))
    first = wire.loads(caller.recv(10))
    assert first["id"] == 2 and time.monotonic() - started < 0.5
    second = wire.loads(caller.recv(10))
    assert second["id"] == 1 and second["result"]["decision"] == "allow"
    caller.close()
    os.close(mirror_fd)
