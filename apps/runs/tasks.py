"""Celery tasks of the runs area: thin wrappers that take ids and call services.

Time limits, late acks and redelivery on worker loss are set centrally in
``genauth_pipeline/celery.py``; ``run_continue`` makes a redelivery safe (it never
runs a function twice for the same run).
"""

from __future__ import annotations

from celery import shared_task

from apps.runs.services import RUN_CONTINUE_TASK, idempotency_claims_prune, run_continue


@shared_task(name=RUN_CONTINUE_TASK)
def run_continue_task(run_id: str) -> None:
    """Run the async functions (or the whole async-mode pipeline) of one run."""
    run_continue(run_id=run_id)


@shared_task(name="apps.runs.tasks.sweep_lost_runs_task")
def sweep_lost_runs_task() -> int:
    """Every minute (Celery beat): record as lost the runs whose process died mid-run."""
    from apps.runs.journal import sweep_lost_runs

    return sweep_lost_runs()


@shared_task(name="apps.runs.tasks.prune_runs_task")
def prune_runs_task() -> int:
    """Daily (Celery beat): delete runs past RUN_RETENTION_DAYS, in small batches, and
    idempotency claims past their 24 h window."""
    from django.conf import settings

    from apps.runs.retention import runs_prune

    idempotency_claims_prune()
    return runs_prune(older_than_days=settings.RUN_RETENTION_DAYS)
