"""Production figures count production runs: the pipelines page's "last run" badges leave
test and replay runs out unless asked (``?include_tests=1``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apps.pipelines.models import Function
from apps.runs.selectors import ALL_SOURCES, last_step_outcomes, run_sources
from tests.conftest import Persona
from tests.console.runs_helpers import make_run, step
from tests.runs.helpers import DENY, add_function, allow

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class History:
    function: Function
    quiet: Function


@pytest.fixture
def history(alice: Persona) -> History:
    """An older production allow, then a newer test timeout of the same function."""
    function = add_function(alice.tenant, "domain-check", DENY)
    quiet = add_function(alice.tenant, "tested-only", allow("tested-only"))
    now = timezone.now()
    make_run(
        alice.tenant,
        steps=[step(function, status="ok")],
        created_at=now - timedelta(hours=1),
    )
    make_run(
        alice.tenant,
        source="test",
        decision="allow",
        status="timeout",
        steps=[step(function, status="timeout"), step(quiet, status="ok")],
        created_at=now,
    )
    return History(function, quiet)


def test_run_sources_are_production_unless_tests_are_asked_for() -> None:
    assert run_sources(include_tests=False) == ("api",)
    assert set(run_sources(include_tests=True)) == {"api", "test", "replay"}


def test_the_last_outcome_is_the_newest_production_step(alice: Persona, history: History) -> None:
    function, quiet = history.function, history.quiet
    ids = {function.id, quiet.id}
    outcomes = last_step_outcomes(tenant=alice.tenant, function_ids=ids)
    assert outcomes[function.id]["status"] == "ok"
    assert outcomes[function.id]["source"] == "api"
    assert quiet.id not in outcomes
    everything = last_step_outcomes(tenant=alice.tenant, function_ids=ids, sources=ALL_SOURCES)
    assert everything[function.id]["status"] == "timeout"
    assert everything[quiet.id]["source"] == "test"


def _row(html: str, function_id: str) -> str:
    row = html[html.index(f'data-function-id="{function_id}"') :]
    return row[: row.index("</li>")]


def test_the_pipelines_page_badges_count_production_runs(alice: Persona, history: History) -> None:
    client = Client()
    client.force_login(alice.user)
    function, quiet = history.function, history.quiet
    html = client.get("/admin/pipelines/").content.decode()
    assert "last run: ok" in _row(html, function.id)
    assert "no production runs yet" in _row(html, quiet.id)
    assert "?include_tests=1" in html
    html = client.get("/admin/pipelines/", {"include_tests": "1"}).content.decode()
    assert "last run: timeout" in _row(html, function.id)
    assert "last run: ok" in _row(html, quiet.id)


def test_charlie_never_sees_acmes_outcomes(
    alice: Persona, charlie: Persona, history: History
) -> None:
    ids = {history.function.id}
    assert last_step_outcomes(tenant=charlie.tenant, function_ids=ids, sources=ALL_SOURCES) == {}
