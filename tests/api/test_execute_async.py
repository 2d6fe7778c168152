"""Async functions and async mode: recorded after the response, each run at most once."""

from __future__ import annotations

from typing import Any

import pytest

from apps.runs.models import Run
from apps.runs.services import run_continue
from tests.conftest import Persona
from tests.runs.helpers import DENY, THROWS, add_function, allow, execute

pytestmark = pytest.mark.django_db


def test_async_functions_answer_queued_and_are_recorded_after_the_fact(
    alice: Persona, django_capture_on_commit_callbacks: Any
) -> None:
    sync = add_function(alice.tenant, "gate", allow("gate"))
    notify = add_function(alice.tenant, "notify", allow("notify"), is_async=True)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        body = execute(alice).json()
    assert body["decision"] == "allow"
    assert [(s["function_id"], s["status"]) for s in body["steps"]] == [
        (sync.id, "ok"),
        (notify.id, "queued"),
    ]
    assert "notify" not in body["context"]["seen"]
    run = Run.objects.get(id=body["run_id"])
    assert run.status == "queued" and run.steps[1]["status"] == "queued"
    assert len(callbacks) == 1
    callbacks[0]()  # the commit hook enqueues the task; Celery runs it eagerly
    run.refresh_from_db()
    assert run.status == "ok"
    assert run.steps[1]["status"] == "ok"
    assert run.steps[1]["attempts"] == 1
    assert any("hello from notify" in log["message"] for log in run.steps[1]["logs"])


def test_an_async_functions_deny_or_error_never_changes_the_decision(
    alice: Persona, django_capture_on_commit_callbacks: Any
) -> None:
    add_function(alice.tenant, "gate", allow("gate"))
    add_function(alice.tenant, "picky", DENY, is_async=True)
    add_function(alice.tenant, "broken", THROWS, is_async=True)
    with django_capture_on_commit_callbacks(execute=True):
        body = execute(alice).json()
    assert body["decision"] == "allow"
    run = Run.objects.get(id=body["run_id"])
    assert run.decision == "allow"
    assert [step["status"] for step in run.steps] == ["ok", "denied", "error"]
    assert run.status == "error"


def test_async_functions_are_skipped_when_the_flow_is_denied(
    alice: Persona, django_capture_on_commit_callbacks: Any
) -> None:
    add_function(alice.tenant, "gate", DENY)
    add_function(alice.tenant, "notify", allow("notify"), is_async=True)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        body = execute(alice).json()
    assert [step["status"] for step in body["steps"]] == ["denied", "skipped"]
    assert callbacks == []


def test_a_redelivered_task_never_runs_a_function_twice(
    alice: Persona, django_capture_on_commit_callbacks: Any
) -> None:
    add_function(alice.tenant, "gate", allow("gate"))
    add_function(alice.tenant, "notify-a", allow("a"), is_async=True)
    add_function(alice.tenant, "notify-b", allow("b"), is_async=True)
    with django_capture_on_commit_callbacks(execute=False):
        run_id = execute(alice).json()["run_id"]
    # A worker took the task, marked notify-a as started, and died before recording it.
    run = Run.objects.get(id=run_id)
    run.steps[1]["attempts"] = 1
    run.save(update_fields=["steps"])
    run_continue(run_id=run_id)  # the broker redelivers the task
    run_continue(run_id=run_id)  # and once more: nothing left to do
    run.refresh_from_db()
    lost, done = run.steps[1], run.steps[2]
    assert lost["status"] == "error" and lost["error"]["code"] == "worker_lost"
    assert lost["attempts"] == 1
    assert done["status"] == "ok" and done["attempts"] == 1
    assert run.async_attempts == 1


def test_async_mode_runs_the_whole_pipeline_in_the_task(
    alice: Persona, django_capture_on_commit_callbacks: Any
) -> None:
    add_function(alice.tenant, "one", allow("one"))
    add_function(alice.tenant, "notify", allow("notify"), is_async=True)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = execute(alice, body={"user": {}, "context": {}, "mode": "async"})
    assert response.status_code == 202
    run = Run.objects.get(id=response.json()["run_id"])
    assert (run.decision, run.status, run.mode) == ("", "queued", "async")
    assert {step["status"] for step in run.steps} == {"queued"}
    for callback in callbacks:
        callback()
    run.refresh_from_db()
    assert (run.decision, run.status) == ("allow", "ok")
    assert run.output["context"]["seen"] == ["one"]
    assert [step["status"] for step in run.steps] == ["ok", "ok"]


def test_a_lost_async_mode_pipeline_is_recorded_not_rerun(
    alice: Persona, django_capture_on_commit_callbacks: Any
) -> None:
    add_function(alice.tenant, "one", allow("one"), trigger="POST_REGISTER")
    with django_capture_on_commit_callbacks(execute=False):
        run_id = execute(alice, "POST_REGISTER").json()["run_id"]
    run = Run.objects.get(id=run_id)
    run.steps[0]["attempts"] = 1  # started by a worker that died
    run.save(update_fields=["steps"])
    run_continue(run_id=run_id)
    run.refresh_from_db()
    assert (run.decision, run.status, run.error_code) == ("deny", "error", "worker_lost")
    assert run.steps[0]["error"]["code"] == "worker_lost"


def test_sync_mode_can_be_asked_for_on_a_non_blocking_trigger(alice: Persona) -> None:
    add_function(alice.tenant, "one", allow("one"), trigger="POST_AUTHENTICATION")
    response = execute(
        alice, "POST_AUTHENTICATION", body={"user": {}, "context": {}, "mode": "sync"}
    )
    assert response.status_code == 200
    assert response.json()["decision"] == "allow"
