"""The audit app took AuditEvent over from runs without touching its table or its rows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from apps.audit.models import AuditEvent

BEFORE_THE_MOVE = [("runs", "0006_run_status_lost")]


def migrate(targets: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


@pytest.mark.django_db(transaction=True)
def test_events_recorded_before_the_move_are_read_through_the_audit_app() -> None:
    executor = migrate(BEFORE_THE_MOVE)
    old_apps = executor.loader.project_state(BEFORE_THE_MOVE).apps
    tenant = old_apps.get_model("tenants", "Tenant").objects.create(slug="acme", name="Acme")
    old_event = old_apps.get_model("runs", "AuditEvent").objects.create(
        tenant=tenant, actor="alice", kind="pipeline.reordered", details={"order": ["a", "b"]}
    )

    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    event = AuditEvent.objects.get()
    assert (event.id, event.tenant_id, event.actor) == (old_event.id, tenant.id, "alice")
    assert event.details == {"order": ["a", "b"]}
    assert AuditEvent._meta.db_table == "runs_auditevent"


def test_the_model_left_the_runs_app() -> None:
    from django.apps import apps

    assert apps.get_model("audit", "AuditEvent") is AuditEvent
    with pytest.raises(LookupError):
        apps.get_model("runs", "AuditEvent")
