"""idempotency_key: the same key from the same tenant within 24 h runs once, for the same
trigger and body; the key with another trigger or body is a conflict."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, connections
from django.utils import timezone

from apps.runs.models import IdempotencyClaim, Run
from tests.conftest import Persona
from tests.runs.helpers import add_function, allow, execute, payload


def body(key: str) -> dict[str, Any]:
    return payload(idempotency_key=key)


@pytest.mark.django_db
def test_a_repeated_key_returns_the_first_response_and_runs_nothing(alice: Persona) -> None:
    add_function(alice.tenant, "tagger", allow("tagger"))
    first = execute(alice, body=body("order-1"))
    again = execute(alice, body=body("order-1"))
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert Run.objects.count() == 1
    assert Run.objects.get().idempotency_key == "order-1"


@pytest.mark.django_db
def test_the_same_body_in_another_key_order_or_spacing_replays(alice: Persona) -> None:
    first = alice.api().post(
        "/api/v1/pipelines/PRE_REGISTER/execute",
        '{"user": {"email": "a@example.com", "id": "u1"}, "context": {}, "idempotency_key": "k"}',
        content_type="application/json",
    )
    again = alice.api().post(
        "/api/v1/pipelines/PRE_REGISTER/execute",
        '{"idempotency_key":"k","mode":"sync","context":{},"user":{"id":"u1","email":"a@example.com"}}',
        content_type="application/json",
    )
    assert again.status_code == 200, again.json()
    assert again.json()["run_id"] == first.json()["run_id"]


@pytest.mark.django_db
def test_the_key_with_another_trigger_is_a_conflict_that_names_the_trigger(
    alice: Persona,
) -> None:
    add_function(alice.tenant, "gate", allow("gate"), trigger="PRE_AUTHENTICATION")
    first = execute(alice, "PRE_REGISTER", body=body("signup-1"))
    again = execute(alice, "PRE_AUTHENTICATION", body=body("signup-1"))
    assert again.status_code == 409
    error = again.json()["error"]
    assert error["code"] == "idempotency_conflict"
    assert "trigger" in error["message"]
    assert "PRE_REGISTER" in error["message"] and "PRE_AUTHENTICATION" in error["message"]
    assert error["details"]["idempotency_key"] == "signup-1"
    assert error["details"]["differs"] == ["trigger"]
    assert Run.objects.count() == 1
    assert execute(alice, "PRE_REGISTER", body=body("signup-1")).json() == first.json()


@pytest.mark.django_db
def test_the_key_with_another_body_is_a_conflict_that_names_the_body(alice: Persona) -> None:
    add_function(alice.tenant, "tagger", allow("tagger"))
    execute(alice, body=body("order-2"))
    for changed in (
        {"user": {"email": "other@example.com"}},
        {"context": {"ip": "198.51.100.7"}},
        {"mode": "async"},
    ):
        again = execute(alice, body={**body("order-2"), **changed})
        assert again.status_code == 409, changed
        error = again.json()["error"]
        assert error["code"] == "idempotency_conflict"
        assert "body" in error["message"]
        assert error["details"]["differs"] == ["body"]
    assert Run.objects.count() == 1


@pytest.mark.django_db
def test_the_key_with_another_trigger_and_body_names_both(alice: Persona) -> None:
    execute(alice, "PRE_REGISTER", body=body("both"))
    again = execute(
        alice, "PRE_AUTHENTICATION", body={**body("both"), "user": {"id": "someone-else"}}
    )
    assert again.status_code == 409
    assert again.json()["error"]["details"]["differs"] == ["trigger", "body"]


@pytest.mark.django_db
def test_a_key_past_its_window_may_carry_another_trigger_and_body(alice: Persona) -> None:
    first = execute(alice, "PRE_REGISTER", body=body("reused")).json()
    IdempotencyClaim.objects.update(created_at=timezone.now() - timedelta(hours=25))
    second = execute(alice, "PRE_AUTHENTICATION", body={**body("reused"), "user": {"id": "x"}})
    assert second.status_code == 200
    assert second.json()["run_id"] != first["run_id"]
    third = execute(alice, "PRE_REGISTER", body=body("reused"))
    assert third.status_code == 409
    assert third.json()["error"]["details"]["differs"] == ["trigger", "body"]


@pytest.mark.django_db
def test_different_keys_run_separately(alice: Persona) -> None:
    first = execute(alice, body=body("a")).json()
    second = execute(alice, body=body("b")).json()
    assert first["run_id"] != second["run_id"]
    assert Run.objects.count() == 2


@pytest.mark.django_db
def test_the_same_key_from_another_tenant_is_another_run(alice: Persona, charlie: Persona) -> None:
    acme = execute(alice, body=body("shared")).json()
    globex = execute(charlie, body=body("shared")).json()
    assert acme["run_id"] != globex["run_id"]
    assert Run.objects.get(id=globex["run_id"]).tenant == charlie.tenant


@pytest.mark.django_db
def test_a_key_older_than_24_hours_runs_again(alice: Persona) -> None:
    first = execute(alice, body=body("daily")).json()
    IdempotencyClaim.objects.update(created_at=timezone.now() - timedelta(hours=25))
    second = execute(alice, body=body("daily")).json()
    assert second["run_id"] != first["run_id"]
    assert Run.objects.count() == 2
    assert IdempotencyClaim.objects.get().run_id == second["run_id"]


@pytest.mark.django_db
def test_an_async_mode_repeat_answers_202_with_the_first_run(
    alice: Persona, django_capture_on_commit_callbacks: Any
) -> None:
    add_function(alice.tenant, "notify", allow("notify"), trigger="POST_REGISTER")
    with django_capture_on_commit_callbacks(execute=True):
        first = execute(alice, "POST_REGISTER", body=body("reg-9"))
        again = execute(alice, "POST_REGISTER", body=body("reg-9"))
    assert first.status_code == again.status_code == 202
    assert again.json() == {"run_id": first.json()["run_id"], "status": "queued"}
    assert Run.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_run_once(alice: Persona) -> None:
    if connection.vendor == "sqlite":
        outcome = _probe_sqlite_file(threads=8)
    else:
        outcome = _race_in_process(alice, threads=8)
    assert [status for status, _ in outcome["results"]] == [200] * 8
    assert len({run_id for _, run_id in outcome["results"]}) == 1
    assert outcome["keyed_runs"] == 1


def _race_in_process(alice: Persona, *, threads: int) -> dict[str, Any]:
    add_function(alice.tenant, "tagger", allow("tagger"))
    results: list[tuple[int, str]] = []
    barrier = threading.Barrier(threads)

    def call() -> None:
        try:
            barrier.wait()
            response = execute(alice, body=body("race"))
            results.append((response.status_code, response.json().get("run_id", "")))
        finally:
            connections.close_all()

    workers = [threading.Thread(target=call) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return {"results": results, "keyed_runs": Run.objects.filter(idempotency_key="race").count()}


def _probe_sqlite_file(*, threads: int) -> dict[str, Any]:
    """See tests/runs/idempotency_probe.py: the in-memory test database cannot race."""
    with tempfile.TemporaryDirectory() as folder:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "tests.runs.idempotency_probe",
                f"{folder}/race.sqlite3",
                str(threads),
            ],
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.django_db
def test_the_daily_prune_drops_only_claims_past_their_window(alice: Persona) -> None:
    from apps.runs.services import idempotency_claims_prune

    old = execute(alice, body=body("old")).json()
    execute(alice, body=body("fresh"))
    IdempotencyClaim.objects.filter(key="old").update(
        created_at=timezone.now() - timedelta(hours=25)
    )
    assert idempotency_claims_prune(batch_size=1) == 1
    assert list(IdempotencyClaim.objects.values_list("key", flat=True)) == ["fresh"]
    assert execute(alice, body=body("old")).json()["run_id"] != old["run_id"]
    assert Run.objects.filter(id=old["run_id"]).exists()
