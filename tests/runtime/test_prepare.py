"""Spare workers that hold the busy tenants' isolates ready, so that one taking over from a
lost worker serves them warm at once (pool.py ``_prepare``, engine.py ``Engine.prepare``)."""

from __future__ import annotations

import os
import signal
import struct
import time
from typing import Any

import pytest

import apps.runtime as runtime
from apps.runtime import engine as engine_module
from apps.runtime.channel import PREPARED_AT

from .conftest import PASS_THROUGH, cold_counts, kill_serving, make_job, ready_spare

TOP_LEVEL_LOGS = "log('top');\nasync function pipe(u, c, cb) { cb(null, u, c); }"


def _engine(**settings: Any) -> engine_module.Engine:
    return engine_module.Engine(runtime.SandboxConfig(spare_isolates=0, **settings).engine_config())


def test_a_prepared_isolate_has_the_functions_defined_runs_none_of_them_and_serves_the_run() -> (
    None
):
    engine = _engine()
    engine.prepare("t_prepared", [TOP_LEVEL_LOGS, PASS_THROUGH])
    assert engine.provider.idle_for("t_prepared") == 1
    assert engine.provider.idle_for("t_other") == 0  # never another tenant's
    (isolate,) = engine.provider._warm["t_prepared"]
    keys = {engine_module.code_key(TOP_LEVEL_LOGS), engine_module.code_key(PASS_THROUGH)}
    assert keys <= isolate.defined
    # Preparing it again (the same codes) keeps the one isolate.
    engine.prepare("t_prepared", [TOP_LEVEL_LOGS, PASS_THROUGH])
    assert engine.provider._warm["t_prepared"] == [isolate]
    job = make_job(TOP_LEVEL_LOGS, tenant_id="t_prepared").to_wire()
    result, _ = engine.run_job(job, lambda _index: None)
    # The top level ran once, inside the step: never while preparing.
    assert [log["message"] for log in result["steps"][0]["logs"]] == ["top"]
    assert engine.provider._warm["t_prepared"] == [isolate]  # the run used it


def test_code_that_closes_its_wrapper_leaves_no_prepared_isolate_and_fresh_mode_prepares_none() -> (
    None
):
    engine = _engine()
    engine.prepare("t_escape", ["}); globalThis.INJ = 1; (function () {"])
    assert engine.provider.idle_for("t_escape") == 0  # refused, and that isolate freed
    fresh = _engine(fresh_isolate_per_run=True)
    fresh.prepare("t_fresh", [PASS_THROUGH])
    assert fresh.provider.idle_for("t_fresh") == 0


def _prepared(spare: Any, count: int) -> None:
    give_up = time.monotonic() + 30
    while spare.prepared_count() < count and time.monotonic() < give_up:
        time.sleep(0.01)
    assert spare.prepared_count() == count


def test_the_spare_prepares_tenants_that_run_again_and_takes_over_with_them_warm(
    restore_pool: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two asks at once, then (practically) none: the spares' CPU is bounded.
    monkeypatch.setattr("apps.runtime.pool.PREPARED_TENANTS", 2)
    monkeypatch.setattr("apps.runtime.pool.PREPARES_PER_S", 0.001)
    runtime.configure(runtime.SandboxConfig(workers=1, spare_workers=1))
    pool = runtime._get_pool()
    spare = ready_spare(pool)
    for tenant_id in ("t_busy", "t_busy", "t_once", "t_next", "t_next"):
        assert runtime.run_pipeline(make_job(PASS_THROUGH, tenant_id=tenant_id)).decision == "allow"
    _prepared(spare, 2)
    assert spare.asked == ["t_busy", "t_next"]  # not a tenant seen once
    for _ in range(2):  # over the budget: not asked
        assert runtime.run_pipeline(make_job(PASS_THROUGH, tenant_id="t_late")).decision == "allow"
    with pool._cond:  # what is to be sent is decided, under the lock, before the run is sent
        assert set(spare.prepared) == {"t_busy", "t_next"}
    assert spare.asked == ["t_busy", "t_next"]
    # The serving worker dies: the spare takes its place, its two tenants warm there.
    (serving,) = pool.worker_pids()
    kill_serving(pool, serving, {spare.proc.pid})
    with pool._cond:
        assert dict(spare.tenants) == {"t_busy": 1, "t_next": 1}
    with cold_counts(pool) as cold:
        for tenant_id in ("t_busy", "t_late"):
            assert (
                runtime.run_pipeline(make_job(PASS_THROUGH, tenant_id=tenant_id)).decision
                == "allow"
            )
    assert cold == [0, 1]  # sent as warm; the tenant it was not asked for, cold


def test_an_ask_is_known_to_the_pool_before_the_spare_can_count_it_done(
    restore_pool: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The thread sending an ask may run again only after the spare prepared it and counted it
    # in the mirror: what the pool takes as prepared (asked[:prepared_count()], which decides
    # the tenants a promoted spare is sent as warm) must name it by then.
    runtime.configure(runtime.SandboxConfig(workers=1, spare_workers=1))
    pool = runtime._get_pool()
    spare = ready_spare(pool)
    send = spare.conn.send
    known_when_counted: list[list[str]] = []

    def send_then_stall(payload: bytes) -> None:
        send(payload)
        give_up = time.monotonic() + 30
        while spare.prepared_count() <= len(known_when_counted) and time.monotonic() < give_up:
            time.sleep(0.005)
        known_when_counted.append(spare.asked[: spare.prepared_count()])

    monkeypatch.setattr(spare.conn, "send", send_then_stall)
    for tenant_id in ("t_one", "t_one", "t_two", "t_two"):
        assert runtime.run_pipeline(make_job(PASS_THROUGH, tenant_id=tenant_id)).decision == "allow"
    _prepared(spare, 2)
    give_up = time.monotonic() + 30
    while len(known_when_counted) < 2 and time.monotonic() < give_up:
        time.sleep(0.01)
    assert known_when_counted == [["t_one"], ["t_one", "t_two"]]


def test_a_lost_worker_is_replaced_by_the_spare_that_prepared_the_most(
    restore_pool: None,
) -> None:
    runtime.configure(runtime.SandboxConfig(workers=2, spare_workers=2))
    pool = runtime._get_pool()
    give_up = time.monotonic() + 30
    while time.monotonic() < give_up:
        with pool._cond:
            spares = list(pool._spares)
        if len(spares) == 2 and all(s.ready.is_set() for s in spares):
            break
        time.sleep(0.01)
    for tenant_id in ("t_a", "t_a", "t_b", "t_b"):
        assert runtime.run_pipeline(make_job(PASS_THROUGH, tenant_id=tenant_id)).decision == "allow"
    for spare in spares:
        _prepared(spare, 2)
    # As if the first had not got round to its asks yet (one taking over before it is done).
    behind, ahead = spares
    behind._mirror[PREPARED_AT : PREPARED_AT + 8] = struct.pack("d", 0.0)
    lost, other = sorted(pool.worker_pids())
    kill_serving(pool, lost, {other, ahead.proc.pid})
    with pool._cond:
        assert behind in pool._spares  # still a spare; a new one started beside it
        assert len(pool._spares) == 2


def test_a_pool_keeps_at_most_one_spare_per_worker(restore_pool: None) -> None:
    assert runtime.SandboxConfig(workers=1).resolved().spare_workers == 1
    assert runtime.SandboxConfig(workers=3).resolved().spare_workers == 2
    assert runtime.SandboxConfig(workers=3, spare_workers=0).resolved().spare_workers == 0
    runtime.configure(runtime.SandboxConfig(workers=1, spare_workers=2))
    pool = runtime._get_pool()
    ready_spare(pool)
    with pool._cond:
        assert len(pool._spares) == 1


def test_a_spare_that_reads_nothing_holds_up_no_run(restore_pool: None) -> None:
    """Asks go out on a thread of the pool's own: a run's thread never waits in send() for a
    spare whose socket is full (here a stopped one, sent far more than its socket holds)."""
    runtime.configure(runtime.SandboxConfig(workers=1, spare_workers=1))
    pool = runtime._get_pool()
    spare = ready_spare(pool)
    os.kill(spare.proc.pid, signal.SIGSTOP)
    try:
        big = PASS_THROUGH + "\n// " + "x" * 90_000
        started = time.monotonic()
        for n in range(40):  # 40 asks of ~90 KiB each
            for _ in range(2):
                job = make_job(big, tenant_id=f"t_big_{n}")
                assert runtime.run_pipeline(job).decision == "allow"
        assert time.monotonic() - started < 30
        assert spare.prepared_count() == 0
    finally:
        os.kill(spare.proc.pid, signal.SIGCONT)


def test_a_tenant_running_two_triggers_is_asked_for_each_once_and_fresh_mode_asks_nothing(
    restore_pool: None,
) -> None:
    other = PASS_THROUGH + "\n// another trigger's function"
    runtime.configure(runtime.SandboxConfig(workers=1, spare_workers=1))
    pool = runtime._get_pool()
    spare = ready_spare(pool)
    for code in (PASS_THROUGH, PASS_THROUGH, other, PASS_THROUGH, other):
        assert runtime.run_pipeline(make_job(code, tenant_id="t_two")).decision == "allow"
    _prepared(spare, 2)
    assert spare.asked == ["t_two", "t_two"]  # not again at each switch between the two
    assert spare.prepared["t_two"] == {PASS_THROUGH, other}
    runtime.configure(runtime.SandboxConfig(workers=1, spare_workers=1, fresh_isolate_per_run=True))
    pool = runtime._get_pool()
    spare = ready_spare(pool)
    for _ in range(3):
        assert runtime.run_pipeline(make_job(PASS_THROUGH, tenant_id="t_fresh")).decision == "allow"
    with pool._cond:
        assert spare.prepared == {}  # its isolates are never kept: nothing to prepare


def test_a_spare_started_after_a_loss_is_asked_for_every_busy_tenant_at_once(
    restore_pool: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The shared budget is spent and (practically) never refills: the first spare is asked
    # nothing. The spare started in the lost worker's place is asked for all three busy
    # tenants as soon as it is ready, the most recent first.
    monkeypatch.setattr("apps.runtime.pool.PREPARES_PER_S", 0.001)
    runtime.configure(runtime.SandboxConfig(workers=1, spare_workers=1))
    pool = runtime._get_pool()
    first = ready_spare(pool)
    with pool._cond:
        pool._prepare_budget = (0.0, time.monotonic())
    for tenant_id in ("t_a", "t_a", "t_b", "t_b", "t_c", "t_c", "t_once"):
        assert runtime.run_pipeline(make_job(PASS_THROUGH, tenant_id=tenant_id)).decision == "allow"
    assert first.asked == []
    (serving,) = pool.worker_pids()
    kill_serving(pool, serving, {first.proc.pid})
    second = ready_spare(pool)
    assert second is not first
    _prepared(second, 3)
    assert second.asked == ["t_c", "t_b", "t_a"]


def test_asks_prepared_out_of_order_are_counted_from_the_first_on() -> None:
    from apps.runtime.worker import _Prefix

    done = _Prefix()
    assert done.add(2) is None  # 0 and 1 are not done: nothing more can be counted
    assert done.add(0) == 1
    assert done.add(3) is None
    assert done.add(1) == 4
    assert done.count == 4
