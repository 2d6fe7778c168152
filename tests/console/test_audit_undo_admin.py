"""Undo from the configuration history page: a POST per event, developers and owners only."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.core.actor import Actor
from apps.pipelines import services
from apps.pipelines.models import Function
from apps.runs.models import AuditEvent, AuditKind
from tests.conftest import Persona
from tests.runs.helpers import add_function, allow

pytestmark = pytest.mark.django_db

HISTORY = "/admin/runs/auditevent/"


def login(persona: Persona, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(persona.user)
    return client


@pytest.fixture
def disabled(alice: Persona) -> AuditEvent:
    function = add_function(alice.tenant, "gate", allow("gate"))
    services.function_update(function=function, actor=Actor.system(), enabled=False)
    return AuditEvent.objects.get(kind=AuditKind.FUNCTION_DISABLED)


def enabled(event: AuditEvent) -> bool:
    return Function.objects.get(pk=event.object_id).enabled


def test_a_developer_undoes_a_disable_from_the_history(dave: Persona, disabled: AuditEvent) -> None:
    response = login(dave).post(f"{HISTORY}{disabled.id}/undo/", follow=True)
    assert response.redirect_chain[-1][0] == HISTORY
    assert enabled(disabled)
    assert any("Undone" in str(m) for m in response.context["messages"])
    undo = AuditEvent.objects.get(kind=AuditKind.FUNCTION_ENABLED)
    assert undo.actor == "dave" and undo.details["undo_of"] == disabled.id


def test_a_refused_undo_says_why(alice: Persona, disabled: AuditEvent) -> None:
    client = login(alice)
    client.post(f"{HISTORY}{disabled.id}/undo/")
    response = client.post(f"{HISTORY}{disabled.id}/undo/", follow=True)
    assert any("already undone" in str(m) for m in response.context["messages"])
    created = AuditEvent.objects.get(kind=AuditKind.TENANT_CREATED, tenant=alice.tenant)
    response = client.post(f"{HISTORY}{created.id}/undo/", follow=True)
    assert any("cannot be undone" in str(m) for m in response.context["messages"])


def test_viewers_charlie_gets_and_csrf_less_posts_change_nothing(
    alice: Persona, bob: Persona, charlie: Persona, disabled: AuditEvent
) -> None:
    url = f"{HISTORY}{disabled.id}/undo/"
    assert login(bob).post(url).status_code == 403
    assert login(charlie).post(url).status_code == 404
    assert login(alice).get(url).status_code == 405
    assert login(alice, csrf=True).post(url).status_code == 403
    assert not enabled(disabled)
