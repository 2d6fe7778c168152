"""A failed publish leaves the draft as it was: the editor sends its unsaved code with the
publish, and the draft is saved and released in one transaction or not at all."""

from __future__ import annotations

from typing import Any

import pytest
from reversion.models import Version

from apps.audit.models import AuditEvent, AuditKind
from apps.core.actor import Actor
from apps.core.errors import Conflict, ServiceError
from apps.pipelines import services
from apps.pipelines.models import Function, Release
from apps.tenants.models import Tenant
from tests.conftest import Persona, assert_error
from tests.pipelines.conftest import ALLOW, DENY
from tests.runs.helpers import csrf_session

pytestmark = pytest.mark.django_db

BROKEN = "async function pipe(user, context, callback) {\n  callback(null, user, context;\n}\n"
# Parses, but defines neither pipe nor an Auth0 Rule or Action: refused at publish.
NO_PIPE = "const handler = (user, context, callback) => callback(null, user, context);\n"


def fresh(function: Function) -> Function:
    return Function.objects.select_related("live_release").get(pk=function.pk)


def snapshot(function: Function) -> tuple[Any, ...]:
    """Everything a refused publish must leave untouched."""
    function = fresh(function)
    return (
        function.code,
        function.updated_at,
        function.live_release_id,
        Release.objects.filter(function=function).count(),
        Version.objects.get_for_object(function).count(),
        AuditEvent.objects.filter(object_id=function.pk).count(),
        Tenant.objects.get(pk=function.tenant_id).config_version,
    )


@pytest.mark.parametrize("code", [BROKEN, NO_PIPE, "   ", "x" * (100 * 1024 + 1)])
def test_a_refused_publish_with_code_leaves_the_draft_as_it_was(
    acme: Tenant, make_function: Any, system: Actor, code: str
) -> None:
    function = make_function(acme, code=ALLOW, publish=True)
    services.function_update(function=function, actor=system, code=DENY, comment="wip")
    before = snapshot(function)
    with pytest.raises(ServiceError) as refused:
        services.function_publish(function=function, actor=system, comment="go", code=code)
    assert refused.value.details.get("field") == "code"
    assert snapshot(function) == before
    assert fresh(function).code == DENY


def test_publishing_the_live_code_again_is_a_conflict_that_keeps_the_draft(
    acme: Tenant, make_function: Any, system: Actor
) -> None:
    function = make_function(acme, code=ALLOW, publish=True)
    services.function_update(function=function, actor=system, code=DENY)
    before = snapshot(function)
    with pytest.raises(Conflict):
        services.function_publish(function=function, actor=system, code=ALLOW)
    assert snapshot(function) == before


def test_publish_with_code_saves_the_draft_and_releases_it_together(
    acme: Tenant, make_function: Any, system: Actor
) -> None:
    function = make_function(acme, code=ALLOW, publish=True)
    revisions = Version.objects.get_for_object(function).count()
    release = services.function_publish(
        function=function, actor=system, comment="closed", code=DENY
    )
    function = fresh(function)
    assert (release.version, release.code, function.code) == (2, DENY, DENY)
    assert function.live_release_id == release.pk and not function.has_unpublished_changes
    assert Version.objects.get_for_object(function).count() == revisions + 1
    kinds = AuditEvent.objects.filter(object_id=function.pk).order_by("created_at", "id")
    assert list(kinds.values_list("kind", flat=True))[-2:] == [
        AuditKind.DRAFT_SAVED,
        AuditKind.FUNCTION_PUBLISHED,
    ]


def test_publish_with_the_saved_draft_as_code_is_a_plain_publish(
    acme: Tenant, make_function: Any, system: Actor
) -> None:
    function = make_function(acme, code=ALLOW)
    revisions = Version.objects.get_for_object(function).count()
    release = services.function_publish(function=function, actor=system, code=ALLOW)
    assert release.version == 1
    assert Version.objects.get_for_object(function).count() == revisions
    assert not AuditEvent.objects.filter(object_id=function.pk, kind=AuditKind.DRAFT_SAVED)


# --- The API ----------------------------------------------------------------------------


def publish(client: Any, function: Function, **body: Any) -> Any:
    return client.post(f"/api/v1/functions/{function.pk}/publish", body, format="json")


def test_the_api_refuses_bad_code_and_the_draft_is_still_the_saved_one(
    alice: Persona, make_function: Any
) -> None:
    function = make_function(alice.tenant, code=ALLOW)
    error = assert_error(publish(alice.api(), function, code=BROKEN), 400, "invalid_code")
    assert error["details"]["line"] == 2
    draft = alice.api().get(f"/api/v1/functions/{function.pk}").json()
    assert draft["code"] == ALLOW and draft["live_version"] is None


def test_the_api_publishes_the_given_code(alice: Persona, make_function: Any) -> None:
    function = make_function(alice.tenant, code=ALLOW)
    response = publish(csrf_session(alice), function, code=DENY, comment="closed")
    assert response.status_code == 201, response.content
    assert response.json()["code"] == DENY and response.json()["version"] == 1
    assert fresh(function).code == DENY


@pytest.mark.parametrize("code", [42, None, ["x"]])
def test_the_api_refuses_code_that_is_not_text(
    alice: Persona, make_function: Any, code: Any
) -> None:
    function = make_function(alice.tenant, code=ALLOW)
    error = assert_error(publish(alice.api(), function, code=code), 400, "invalid_request")
    assert "code" in error["details"]["fields"]
    assert fresh(function).code == ALLOW


def test_charlie_and_bob_cannot_publish_acmes_function_with_code(
    alice: Persona, bob: Persona, charlie: Persona, make_function: Any
) -> None:
    function = make_function(alice.tenant, code=ALLOW)
    assert_error(publish(charlie.api(), function, code=DENY), 404, "not_found")
    assert_error(publish(csrf_session(bob), function, code=DENY), 403, "permission_denied")
    assert fresh(function).code == ALLOW and fresh(function).live_release is None
