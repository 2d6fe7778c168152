"""Retention deletes exactly the runs past the window, in batches, and nothing else."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.runs.models import Run
from apps.runs.retention import runs_prune
from apps.runs.tasks import prune_runs_task
from apps.tenants.models import Tenant
from tests.console.runs_helpers import make_run

pytestmark = pytest.mark.django_db


def test_it_deletes_exactly_the_runs_older_than_the_window(acme: Tenant, globex: Tenant) -> None:
    now = timezone.now()
    cutoff = now - timedelta(days=10)
    old = [make_run(acme, created_at=cutoff - timedelta(seconds=1)) for _ in range(3)]
    old.append(make_run(globex, created_at=cutoff - timedelta(days=400)))
    on_the_boundary = make_run(acme, created_at=cutoff)
    recent = make_run(globex, created_at=now - timedelta(days=1))
    events_before = AuditEvent.objects.count()

    deleted = runs_prune(older_than_days=10, batch_size=2, now=now)

    assert deleted == 4
    remaining = set(Run.objects.values_list("id", flat=True))
    assert remaining == {on_the_boundary.id, recent.id}
    assert not Run.objects.filter(id__in=[run.id for run in old]).exists()
    assert AuditEvent.objects.count() == events_before


def test_it_reports_progress_batch_by_batch(acme: Tenant) -> None:
    now = timezone.now()
    for _ in range(5):
        make_run(acme, created_at=now - timedelta(days=91))
    seen: list[int] = []

    runs_prune(older_than_days=90, batch_size=2, now=now, progress=seen.append)

    assert seen == [2, 4, 5]


def test_it_refuses_a_window_under_one_day(acme: Tenant) -> None:
    with pytest.raises(ValueError):
        runs_prune(older_than_days=0)


def test_the_command_uses_the_given_days(acme: Tenant) -> None:
    make_run(acme, created_at=timezone.now() - timedelta(days=8))
    kept = make_run(acme, created_at=timezone.now() - timedelta(days=6))
    out = StringIO()

    call_command("prune_runs", "--days", "7", stdout=out)

    assert "Deleted 1 run(s)" in out.getvalue()
    assert list(Run.objects.values_list("id", flat=True)) == [kept.id]


def test_the_command_defaults_to_the_retention_setting(acme: Tenant, settings) -> None:  # type: ignore[no-untyped-def]
    settings.RUN_RETENTION_DAYS = 30
    make_run(acme, created_at=timezone.now() - timedelta(days=31))
    kept = make_run(acme, created_at=timezone.now() - timedelta(days=29))

    call_command("prune_runs", stdout=StringIO())

    assert list(Run.objects.values_list("id", flat=True)) == [kept.id]


def test_the_command_rejects_bad_days(acme: Tenant) -> None:
    with pytest.raises(CommandError, match="--days"):
        call_command("prune_runs", "--days", "0", stdout=StringIO())


def test_the_daily_task_prunes_with_the_retention_setting(acme: Tenant, settings) -> None:  # type: ignore[no-untyped-def]
    settings.RUN_RETENTION_DAYS = 90
    make_run(acme, created_at=timezone.now() - timedelta(days=91))
    kept = make_run(acme, created_at=timezone.now() - timedelta(days=89))

    assert prune_runs_task.delay().get() == 1

    assert list(Run.objects.values_list("id", flat=True)) == [kept.id]


def test_the_beat_schedule_names_the_task() -> None:
    from genauth_pipeline.celery import app

    schedule = app.conf.beat_schedule["prune-runs-daily"]
    assert schedule["task"] == prune_runs_task.name
