"""A run whose code started is recorded even when its process dies (apps/runs/journal.py)."""

from __future__ import annotations

import os
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from apps.runs import journal as journal_module
from apps.runs.journal import _unfinished, journal, sweep_lost_runs
from apps.runs.models import Run, RunStatus
from tests.conftest import Persona
from tests.runs.helpers import add_function, allow, execute, payload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def journal_dir(settings: Any, tmp_path: Path) -> Path:
    settings.RUN_JOURNAL_DIR = tmp_path / "journal"
    return settings.RUN_JOURNAL_DIR


def _entry(persona: Persona, run_id: str, **extra: Any) -> dict[str, Any]:
    return journal_module.lost_run_entry(
        run_id=run_id,
        tenant=persona.tenant,
        trigger="PRE_REGISTER",
        source="api",
        mode="sync",
        caller="api_key:test",
        client_ip="203.0.113.9",
        idempotency_key=extra.pop("idempotency_key", None),
        user={"id": "u_1", "email": "ann@example.com", "big": 2**70 + 1},
        context={"ip": "203.0.113.9"},
        planned_steps=[
            {
                "function_id": "fn_1",
                "name": "notify",
                "version": 1,
                "status": "queued",
                "async": False,
            },
            {
                "function_id": "fn_2",
                "name": "later",
                "version": 1,
                "status": "queued",
                "async": True,
            },
        ],
        search_columns={
            "user_id": "u_1",
            "user_email": "ann@example.com",
            "function_ids": " fn_1 ",
        },
    )


def _die_mid_run(entry: dict[str, Any]) -> int:
    """A child process notes a run as started, then dies before recording it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads running
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            journal.started(entry)
        finally:
            os._exit(9)
    os.waitpid(pid, 0)
    return pid


def test_a_recorded_run_leaves_nothing_unfinished(alice: Persona, journal_dir: Path) -> None:
    add_function(alice.tenant, "one", allow("one"))
    response = execute(alice)
    assert response.status_code == 200
    path = journal.path
    assert path is not None and path.parent == journal_dir
    assert response.json()["run_id"] in path.read_text()  # it was journaled
    assert _unfinished(path) == {}
    assert sweep_lost_runs() == 0


def test_an_empty_pipeline_runs_no_code_and_is_not_journaled(
    alice: Persona, journal_dir: Path
) -> None:
    assert execute(alice).status_code == 200
    assert not journal_dir.exists() or not list(journal_dir.glob("*.jsonl"))


def test_a_run_whose_process_died_is_swept_into_a_lost_run(
    alice: Persona, journal_dir: Path
) -> None:
    pid = _die_mid_run(_entry(alice, "run_dead1"))
    files = list(journal_dir.glob(f"*~{pid}~*.jsonl"))
    assert len(files) == 1
    assert sweep_lost_runs() == 1
    run = Run.objects.get(id="run_dead1")
    assert run.tenant == alice.tenant
    assert run.status == RunStatus.LOST
    assert run.decision == ""
    assert run.error_code == "run_lost"
    assert run.input["user"]["big"] == 2**70 + 1  # exact, as a run would store it
    assert run.user_email == "ann@example.com"
    assert run.steps[0]["status"] == "error"
    assert run.steps[0]["error"]["code"] == "run_lost"
    assert "async" not in run.steps[0]
    assert run.steps[1]["status"] == "skipped"  # an async step is never queued by a lost run
    assert not files[0].exists()  # the dead process's journal is gone
    assert sweep_lost_runs() == 0  # and nothing is recorded twice

    body = alice.api().get(f"/api/v1/runs/{run.id}").json()
    assert body["status"] == "lost"
    assert body["decision"] is None
    assert body["error"]["code"] == "run_lost"


def test_a_run_recorded_before_its_process_died_is_not_recorded_again(
    alice: Persona, journal_dir: Path
) -> None:
    add_function(alice.tenant, "one", allow("one"))
    run_id = execute(alice).json()["run_id"]
    entry = _entry(alice, run_id)
    _die_mid_run(entry)
    assert sweep_lost_runs() == 0
    assert Run.objects.get(id=run_id).status == RunStatus.OK


def test_a_live_process_keeps_its_runs_until_they_are_far_past_any_budget(
    alice: Persona, journal_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_function(alice.tenant, "one", allow("one"))

    def database_down(run: Run) -> None:
        raise RuntimeError("database unavailable")

    monkeypatch.setattr("apps.runs.services._insert", database_down)
    assert execute(alice).status_code == 500  # the code ran; its record could not be stored
    assert not Run.objects.exists()
    assert sweep_lost_runs() == 0  # this process lives: the run may still be recorded
    later = datetime.now(UTC) + journal_module.LIVE_ENTRY_MAX_AGE + timedelta(seconds=1)
    assert sweep_lost_runs(now=later) == 1
    assert Run.objects.get().status == RunStatus.LOST
    assert journal._unrecorded == {}  # swept: not carried past the next compaction


def test_a_recycled_pid_is_not_taken_for_the_dead_process(
    alice: Persona, journal_dir: Path
) -> None:
    entry = _entry(alice, "run_recycled")
    journal_dir.mkdir(parents=True)
    # This very pid, but another start time: the process that wrote it is gone.
    host = journal_module._host()
    path = journal_dir / f"{host}~{os.getpid()}~1.jsonl"
    path.write_bytes(b"+" + journal_module.wire.dumps(entry) + b"\n")
    assert sweep_lost_runs() == 1
    assert Run.objects.get(id="run_recycled").status == RunStatus.LOST


def test_another_hosts_journal_is_left_to_that_host(alice: Persona, journal_dir: Path) -> None:
    journal_dir.mkdir(parents=True)
    path = journal_dir / "elsewhere~12345~99.jsonl"
    path.write_bytes(b"+" + journal_module.wire.dumps(_entry(alice, "run_far")) + b"\n")
    assert sweep_lost_runs() == 0
    assert path.exists()


def test_a_line_cut_short_as_the_process_died_is_skipped(alice: Persona, journal_dir: Path) -> None:
    journal_dir.mkdir(parents=True)
    line = journal_module.wire.dumps(_entry(alice, "run_whole"))
    path = journal_dir / f"{journal_module._host()}~{os.getpid()}~1.jsonl"
    path.write_bytes(b"+" + line + b"\n+" + line[:40])
    assert sweep_lost_runs() == 1
    assert list(Run.objects.values_list("id", flat=True)) == ["run_whole"]


def test_a_retry_with_the_key_of_a_lost_run_runs_the_pipeline_again(
    alice: Persona, journal_dir: Path
) -> None:
    add_function(alice.tenant, "one", allow("one"))
    first = execute(alice, body=payload(idempotency_key="k-lost")).json()
    # As if that run's process had died: its record is the lost one.
    Run.objects.filter(id=first["run_id"]).update(status=RunStatus.LOST, decision="")
    again = execute(alice, body=payload(idempotency_key="k-lost")).json()
    assert again["run_id"] != first["run_id"]
    assert again["decision"] == "allow"
    replay = execute(alice, body=payload(idempotency_key="k-lost")).json()
    assert replay["run_id"] == again["run_id"]


def test_the_journal_is_compacted_when_no_run_is_in_flight(
    alice: Persona, journal_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_function(alice.tenant, "one", allow("one"))
    monkeypatch.setattr(journal_module, "COMPACT_AT_BYTES", 1)
    for _ in range(3):
        assert execute(alice, body=payload()).status_code == 200
    path = journal.path
    assert path is not None
    assert path.stat().st_size == 0  # emptied after each run: nothing was in flight


def test_a_busy_journal_is_compacted_while_runs_are_in_flight(
    alice: Persona, journal_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Runs that overlap without a moment between them with nothing in flight (slow
    # functions under steady traffic): each compaction keeps exactly what is in flight.
    monkeypatch.setattr(journal_module, "COMPACT_AT_BYTES", 1)
    a = journal.started(_entry(alice, "run_a"))
    b = journal.started(_entry(alice, "run_b"))
    journal.finished("run_a", a, recorded=True)
    c = journal.started(_entry(alice, "run_c"))
    journal.finished("run_b", b, recorded=True)
    path = journal.path
    assert path is not None and c is not None
    assert path.read_bytes() == c
    assert not list(journal_dir.glob("*.compacting"))
    journal.finished("run_c", c, recorded=False)  # its record failed: kept for the sweep
    d = journal.started(_entry(alice, "run_d"))
    journal.finished("run_d", d, recorded=True)
    assert set(_unfinished(path)) == {"run_c"}
    later = datetime.now(UTC) + journal_module.LIVE_ENTRY_MAX_AGE + timedelta(seconds=1)
    assert sweep_lost_runs(now=later) == 1
    assert Run.objects.get().id == "run_c"


def test_a_compaction_its_process_died_in_is_removed_and_the_journal_swept(
    alice: Persona, journal_dir: Path
) -> None:
    pid = _die_mid_run(_entry(alice, "run_dead3"))
    (journal_file,) = journal_dir.glob(f"*~{pid}~*.jsonl")
    leftover = journal_file.with_name(journal_file.name + ".compacting")
    leftover.write_bytes(b"")  # died after creating it, before renaming it over the journal
    me = os.getpid()
    running = journal_dir / f"{journal_module._host()}~{me}~{journal_module._start_ticks(me)}"
    running = running.with_name(running.name + ".jsonl.compacting")
    running.write_bytes(b"")  # a live process may be compacting right now
    assert sweep_lost_runs() == 1
    assert Run.objects.get().id == "run_dead3"
    assert not leftover.exists()
    assert running.exists()


def test_a_journal_that_cannot_be_written_does_not_stop_runs(
    alice: Persona,
    settings: Any,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(journal, "_quiet_until", 0.0)  # not silenced by an earlier failure
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    settings.RUN_JOURNAL_DIR = blocker / "journal"  # under a file: cannot be created
    add_function(alice.tenant, "one", allow("one"))
    response = execute(alice)
    assert response.status_code == 200
    assert response.json()["decision"] == "allow"
    assert Run.objects.get().status == RunStatus.OK
    assert "run journal" in caplog.text and "cannot be written" in caplog.text
