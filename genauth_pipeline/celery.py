"""The Celery application; time limits for every task are set here, centrally."""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "genauth_pipeline.settings")

app = Celery("genauth_pipeline")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_soft_time_limit=90,
    task_time_limit=120,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
    beat_schedule={
        "prune-runs-daily": {
            "task": "apps.runs.tasks.prune_runs_task",
            "schedule": crontab(hour=3, minute=17),
        },
        "sweep-lost-runs": {
            "task": "apps.runs.tasks.sweep_lost_runs_task",
            "schedule": 60.0,
        },
    },
)
app.autodiscover_tasks()
