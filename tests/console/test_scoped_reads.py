"""The reads and writes console pages call through selectors and services stay within
the tenant they are given (charlie's tenant never sees or changes acme's objects)."""

from __future__ import annotations

import pytest

from apps.audit.models import AuditEvent, AuditKind
from apps.audit.selectors import audit_events_undone
from apps.audit.services import audit_record
from apps.core.actor import Actor
from apps.core.errors import NotFound
from apps.pipelines.selectors import (
    function_choices,
    function_ids_existing,
    function_names_by_key,
    functions_with_live_release,
    tenant_functions,
)
from apps.pipelines.services import function_test_payload_set
from apps.tenants.models import Tenant
from apps.tenants.selectors import api_keys_by_prefix, tenant_choices, tenant_names
from tests.conftest import Persona
from tests.runs.helpers import add_function

CODE = "async function pipe(user, context, callback) { callback(null, user, context); }"


def _event(tenant: Tenant, **details: str) -> AuditEvent:
    return audit_record(
        tenant=tenant,
        actor=Actor.system(),
        kind=AuditKind.FUNCTION_ENABLED,
        object_type="function",
        object_id="fn_x",
        details=details,
    )


def test_function_reads_name_only_the_given_tenants_functions(
    alice: Persona, charlie: Persona
) -> None:
    acme_fn = add_function(alice.tenant, "acme-rule", CODE)
    globex_fn = add_function(charlie.tenant, "globex-rule", CODE)
    assert [f.id for f in tenant_functions(tenant=charlie.tenant)] == [globex_fn.id]
    assert function_choices(tenant=charlie.tenant) == [(globex_fn.id, "globex-rule")]
    assert function_ids_existing(tenant_id=charlie.tenant.pk, ids=[acme_fn.id]) == set()
    assert functions_with_live_release(tenant=charlie.tenant, ids=[acme_fn.id]) == {}
    keys = {(charlie.tenant.pk, acme_fn.id), (alice.tenant.pk, acme_fn.id)}
    assert function_names_by_key(keys=keys) == {(alice.tenant.pk, acme_fn.id): "acme-rule"}


def test_the_test_payload_service_refuses_another_tenants_function(
    alice: Persona, charlie: Persona
) -> None:
    function = add_function(alice.tenant, "acme-rule", CODE)
    with pytest.raises(NotFound):
        function_test_payload_set(
            tenant=charlie.tenant, function=function, payload={"user": {}, "context": {}}
        )
    function.refresh_from_db()
    assert function.test_payload == {}


def test_an_undo_of_another_tenant_does_not_mark_an_event_undone(
    alice: Persona, charlie: Persona
) -> None:
    event = _event(alice.tenant)
    _event(charlie.tenant, undo_of=event.id)
    assert audit_events_undone(events=[event]) == set()
    _event(alice.tenant, undo_of=event.id)
    assert audit_events_undone(events=[event]) == {event.id}


def test_tenant_reads_stay_within_the_keys_tenant(alice: Persona, charlie: Persona) -> None:
    acme_prefix = alice.tenant.api_keys.values_list("prefix", flat=True)[0]
    assert api_keys_by_prefix(keys={(charlie.tenant.pk, acme_prefix)}) == {}
    assert tenant_names(keys={(charlie.tenant.pk, str(alice.tenant.pk))}) == {}
    assert list(tenant_choices(user=charlie.user, tenant=charlie.tenant)) == [charlie.tenant]
    assert not tenant_choices(user=charlie.user, tenant=None).exists()
