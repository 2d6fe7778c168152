"""Configuration-history rows name their objects, and only objects of the event's tenant."""

from __future__ import annotations

from apps.audit.models import AuditEvent, AuditKind
from apps.audit.services import audit_record
from apps.console.audit_objects import audit_object_links, audit_order_names, audit_summary
from apps.core.actor import Actor
from apps.tenants.models import Tenant
from tests.conftest import Persona
from tests.runs.helpers import add_function

CODE = "async function pipe(user, context, callback) { callback(null, user, context); }"


def _enabled_event(tenant: Tenant, function_id: str) -> AuditEvent:
    return audit_record(
        tenant=tenant,
        actor=Actor.system(),
        kind=AuditKind.FUNCTION_ENABLED,
        object_type="function",
        object_id=function_id,
        details={},
    )


def test_an_event_links_its_function_by_name(alice: Persona) -> None:
    function = add_function(alice.tenant, "email-domain-check", CODE, publish=False)
    event = _enabled_event(alice.tenant, function.id)
    assert audit_object_links([event])[event.id] == (
        "email-domain-check",
        f"/admin/functions/{function.id}/",
    )


def test_an_id_of_another_tenants_function_is_neither_named_nor_linked(
    alice: Persona, charlie: Persona
) -> None:
    secret = add_function(alice.tenant, "acme-internal-rule", CODE, publish=False)
    event = _enabled_event(charlie.tenant, secret.id)
    label, url = audit_object_links([event])[event.id]
    assert "acme-internal-rule" not in label and url == ""


def test_the_summary_is_json_with_short_hashes() -> None:
    summary = audit_summary({"version": 2, "code_sha256": "ab" * 32, "previous": None})
    assert summary == '{"code_sha256": "abababababab…", "previous": null, "version": 2}'


def test_a_reorder_reads_as_its_functions_names_never_another_tenants(
    alice: Persona, charlie: Persona
) -> None:
    first = add_function(alice.tenant, "allow-list", CODE, publish=False)
    second = add_function(alice.tenant, "block-list", CODE, publish=False)
    foreign = add_function(charlie.tenant, "globex-rule", CODE, publish=False)
    event = audit_record(
        tenant=alice.tenant,
        actor=Actor.system(),
        kind=AuditKind.PIPELINE_REORDERED,
        object_type="pipeline",
        object_id="PRE_REGISTER",
        details={"before": [first.id, second.id], "after": [second.id, first.id, foreign.id]},
    )
    names = audit_order_names([event])[event.id]
    assert names == {first.id: "allow-list", second.id: "block-list"}
    summary = audit_summary(event.details, names)
    assert summary == (
        f'{{"after": ["block-list", "allow-list", "{foreign.id}"], '
        '"before": ["allow-list", "block-list"]}'
    )
