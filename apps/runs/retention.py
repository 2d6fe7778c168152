"""Run retention: deletes runs past ``RUN_RETENTION_DAYS`` in small batches.

Each batch is its own short transaction that deletes by primary key, so the run table
is never locked for long and executions keep writing while a prune runs. Batches are
found per tenant through the ``(tenant, -created_at)`` index, which avoids scanning
the whole table (and the rows earlier batches have just deleted) for every batch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from apps.runs.models import Run
from apps.tenants.models import Tenant

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 1000


def runs_prune_cutoff(*, older_than_days: int, now: datetime | None = None) -> datetime:
    """Runs created strictly before this moment are past retention."""
    if older_than_days < 1:
        raise ValueError("older_than_days must be at least 1")
    return (now or timezone.now()) - timedelta(days=older_than_days)


def runs_prune(
    *,
    older_than_days: int,
    batch_size: int = DEFAULT_BATCH_SIZE,
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Delete every run created before ``now - older_than_days``; returns how many."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    cutoff = runs_prune_cutoff(older_than_days=older_than_days, now=now)
    deleted = 0
    for tenant_id in Tenant.objects.order_by("pk").values_list("pk", flat=True):
        deleted += _prune_tenant(tenant_id, cutoff, batch_size, progress, deleted)
    logger.info("pruned %d runs created before %s", deleted, cutoff.isoformat())
    return deleted


def _prune_tenant(
    tenant_id: int,
    cutoff: datetime,
    batch_size: int,
    progress: Callable[[int], None] | None,
    so_far: int,
) -> int:
    deleted = 0
    while True:
        ids = list(
            Run.objects.filter(tenant_id=tenant_id, created_at__lt=cutoff)
            .order_by("created_at")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return deleted
        with transaction.atomic():
            count, _ = Run.objects.filter(pk__in=ids).delete()
        deleted += count
        if progress is not None:
            progress(so_far + deleted)
