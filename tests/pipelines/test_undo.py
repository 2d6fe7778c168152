"""Undo of a pipeline change (reorder, enable/disable) from its audit event."""

from __future__ import annotations

from typing import Any

import pytest

from apps.audit.models import AuditEvent, AuditKind
from apps.core.actor import Actor
from apps.core.errors import Conflict, NotFound, ServiceError
from apps.pipelines import services
from apps.pipelines.models import Function
from apps.pipelines.undo import pipeline_change_undo
from apps.runs.selectors import live_functions_for_trigger
from apps.tenants.models import Tenant

pytestmark = pytest.mark.django_db


def order(tenant: Tenant) -> list[str]:
    functions = Function.objects.filter(tenant=tenant, pipeline__trigger="PRE_REGISTER")
    return list(functions.order_by("position").values_list("name", flat=True))


def reorder(tenant: Tenant, names: str, actor: Actor) -> AuditEvent:
    ids = [Function.objects.get(tenant=tenant, name=name).pk for name in names]
    services.pipeline_reorder(tenant=tenant, trigger="PRE_REGISTER", function_ids=ids, actor=actor)
    return AuditEvent.objects.filter(kind=AuditKind.PIPELINE_REORDERED).latest("created_at")


@pytest.fixture
def abc(acme: Tenant, make_function: Any) -> list[Function]:
    return [make_function(acme, name, publish=True) for name in "abc"]


def test_undoing_a_reorder_restores_the_order_live_and_audited(
    acme: Tenant, abc: list[Function], system: Actor
) -> None:
    event = reorder(acme, "cab", system)
    version = Tenant.objects.get(pk=acme.pk).config_version
    alice = Actor.system("alice")
    undo = pipeline_change_undo(tenant=acme, event_id=event.id, actor=alice)
    assert order(acme) == ["a", "b", "c"]
    acme.refresh_from_db()
    assert acme.config_version == version + 1
    live = live_functions_for_trigger(tenant=acme, trigger="PRE_REGISTER")
    assert [f.name for f in live] == ["a", "b", "c"]
    assert undo.kind == AuditKind.PIPELINE_REORDERED and undo.actor == "alice"
    assert undo.details["undo_of"] == event.id
    assert undo.details["before"] == event.details["after"]
    assert undo.details["after"] == event.details["before"]


def test_an_undo_can_itself_be_undone(acme: Tenant, abc: list[Function], system: Actor) -> None:
    event = reorder(acme, "cab", system)
    undo = pipeline_change_undo(tenant=acme, event_id=event.id, actor=system)
    pipeline_change_undo(tenant=acme, event_id=undo.id, actor=system)
    assert order(acme) == ["c", "a", "b"]


def test_a_change_is_undone_once(acme: Tenant, abc: list[Function], system: Actor) -> None:
    event = reorder(acme, "cab", system)
    pipeline_change_undo(tenant=acme, event_id=event.id, actor=system)
    with pytest.raises(Conflict, match="already undone"):
        pipeline_change_undo(tenant=acme, event_id=event.id, actor=system)
    assert order(acme) == ["a", "b", "c"]


def test_an_undo_never_overwrites_a_later_reorder(
    acme: Tenant, abc: list[Function], system: Actor
) -> None:
    event = reorder(acme, "cab", system)
    reorder(acme, "bca", system)
    events = AuditEvent.objects.count()
    with pytest.raises(Conflict, match="reordered again"):
        pipeline_change_undo(tenant=acme, event_id=event.id, actor=system)
    assert order(acme) == ["b", "c", "a"] and AuditEvent.objects.count() == events


def test_functions_added_or_deleted_since_do_not_block_the_undo(
    acme: Tenant, abc: list[Function], make_function: Any, system: Actor
) -> None:
    event = reorder(acme, "cab", system)
    make_function(acme, "d")
    services.function_delete(function=abc[1], actor=system)  # b
    pipeline_change_undo(tenant=acme, event_id=event.id, actor=system)
    assert order(acme) == ["a", "c", "d"]


def test_undoing_a_disable_enables_and_the_reverse(
    acme: Tenant, abc: list[Function], system: Actor
) -> None:
    services.function_update(function=abc[0], actor=system, enabled=False)
    disabled = AuditEvent.objects.get(kind=AuditKind.FUNCTION_DISABLED)
    undo = pipeline_change_undo(tenant=acme, event_id=disabled.id, actor=system)
    assert Function.objects.get(pk=abc[0].pk).enabled is True
    assert undo.kind == AuditKind.FUNCTION_ENABLED and undo.details["undo_of"] == disabled.id
    assert [f.name for f in live_functions_for_trigger(tenant=acme, trigger="PRE_REGISTER")] == [
        "a",
        "b",
        "c",
    ]
    redo = pipeline_change_undo(tenant=acme, event_id=undo.id, actor=system)
    assert redo.kind == AuditKind.FUNCTION_DISABLED
    assert Function.objects.get(pk=abc[0].pk).enabled is False


def test_an_enable_undo_refuses_when_the_state_changed_or_the_function_is_gone(
    acme: Tenant, abc: list[Function], system: Actor
) -> None:
    services.function_update(function=abc[0], actor=system, enabled=False)
    disabled = AuditEvent.objects.get(kind=AuditKind.FUNCTION_DISABLED)
    services.function_update(function=abc[0], actor=system, enabled=True)
    with pytest.raises(Conflict, match="already enabled"):
        pipeline_change_undo(tenant=acme, event_id=disabled.id, actor=system)
    services.function_update(function=abc[1], actor=system, enabled=False)
    gone = AuditEvent.objects.get(kind=AuditKind.FUNCTION_DISABLED, object_id=abc[1].pk)
    services.function_delete(function=abc[1], actor=system)
    with pytest.raises(Conflict, match="deleted"):
        pipeline_change_undo(tenant=acme, event_id=gone.id, actor=system)


@pytest.mark.parametrize(
    "kind", [AuditKind.FUNCTION_CREATED, AuditKind.FUNCTION_PUBLISHED, AuditKind.TENANT_CREATED]
)
def test_other_kinds_cannot_be_undone(acme: Tenant, abc: list[Function], kind: str) -> None:
    event = AuditEvent.objects.filter(tenant=acme, kind=kind).first()
    assert event is not None
    with pytest.raises(ServiceError) as refused:
        pipeline_change_undo(tenant=acme, event_id=event.id, actor=Actor.system())
    assert refused.value.status == 400 and refused.value.details["kind"] == kind


def test_another_tenants_event_is_not_found(
    acme: Tenant, globex: Tenant, abc: list[Function], system: Actor
) -> None:
    event = reorder(acme, "cab", system)
    with pytest.raises(NotFound):
        pipeline_change_undo(tenant=globex, event_id=event.id, actor=system)
    assert order(acme) == ["c", "a", "b"]
