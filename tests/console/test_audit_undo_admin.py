"""Undo from the configuration history: a confirmation page that says what changes in
production, then a POST per event; developers and owners only."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.audit.models import AuditEvent, AuditKind
from apps.core.actor import Actor
from apps.pipelines import services
from apps.pipelines.models import Function
from tests.conftest import Persona
from tests.runs.helpers import add_function, allow

pytestmark = pytest.mark.django_db

HISTORY = "/admin/audit/auditevent/"


def login(persona: Persona, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(persona.user)
    return client


@pytest.fixture
def disabled(alice: Persona) -> AuditEvent:
    function = add_function(alice.tenant, "gate", allow("gate"))
    services.function_update(function=function, actor=Actor.system(), enabled=False)
    return AuditEvent.objects.get(kind=AuditKind.FUNCTION_DISABLED)


@pytest.fixture
def reordered(alice: Persona) -> AuditEvent:
    """PRE_REGISTER's "first" and "second" swapped."""
    first = add_function(alice.tenant, "first", allow("first"))
    second = add_function(alice.tenant, "second", allow("second"))
    services.pipeline_reorder(
        tenant=alice.tenant,
        trigger="PRE_REGISTER",
        function_ids=[second.pk, first.pk],
        actor=Actor.system(),
    )
    return AuditEvent.objects.get(kind=AuditKind.PIPELINE_REORDERED)


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
    assert login(bob).get(url).status_code == 403
    assert login(charlie).post(url).status_code == 404
    assert login(charlie).get(url).status_code == 404
    assert login(alice).put(url).status_code == 405
    assert login(alice, csrf=True).post(url).status_code == 403
    assert not enabled(disabled)


def test_the_confirmation_says_what_changes_in_production_and_changes_nothing(
    alice: Persona, disabled: AuditEvent
) -> None:
    response = login(alice).get(f"{HISTORY}{disabled.id}/undo/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "Enable gate again?" in page
    assert "From now on, PRE_REGISTER runs v1 of gate again." in page
    assert "disabled: skipped → v1 live: runs" in page
    assert 'name="csrfmiddlewaretoken"' in page and 'method="post"' in page
    assert not enabled(disabled)


def test_a_reorder_confirmation_lists_the_order_now_and_after(
    alice: Persona, reordered: AuditEvent
) -> None:
    event = reordered
    response = login(alice).get(f"{HISTORY}{event.id}/undo/")
    assert response.context["order_now"] == [
        {"name": "second", "state": "v1 live: runs"},
        {"name": "first", "state": "v1 live: runs"},
    ]
    assert [row["name"] for row in response.context["order_after"]] == ["first", "second"]


def test_a_refused_undo_shows_why_without_a_form(alice: Persona, disabled: AuditEvent) -> None:
    client = login(alice)
    client.post(f"{HISTORY}{disabled.id}/undo/")
    page = client.get(f"{HISTORY}{disabled.id}/undo/").content.decode()
    assert "already undone" in page and 'id="confirm-undo"' not in page


def test_after_the_undo_it_goes_back_to_the_page_that_asked_if_it_is_ours(
    alice: Persona, disabled: AuditEvent
) -> None:
    client = login(alice)
    url = f"{HISTORY}{disabled.id}/undo/"
    assert client.post(url, {"next": "/admin/pipelines/"})["Location"] == "/admin/pipelines/"
    services.function_update(
        function=Function.objects.get(pk=disabled.object_id), actor=Actor.system(), enabled=False
    )
    again = AuditEvent.objects.filter(kind=AuditKind.FUNCTION_DISABLED).latest("created_at")
    response = client.post(f"{HISTORY}{again.id}/undo/", {"next": "https://evil.example/"})
    assert response["Location"] == HISTORY


def test_undo_is_offered_to_developers_and_owners_only(
    alice: Persona, bob: Persona, dave: Persona, disabled: AuditEvent
) -> None:
    undo = f'href="{HISTORY}{disabled.id}/undo/"'
    detail = f"{HISTORY}{disabled.id}/change/"
    for persona in (alice, dave):
        assert undo in login(persona).get(HISTORY).content.decode()
        assert undo in login(persona).get(detail).content.decode()
    assert "/undo/" not in login(bob).get(HISTORY).content.decode()
    assert "/undo/" not in login(bob).get(detail).content.decode()


def test_only_undoable_events_offer_undo_and_an_undone_one_says_so(
    alice: Persona, disabled: AuditEvent
) -> None:
    client = login(alice)
    created = AuditEvent.objects.get(kind=AuditKind.TENANT_CREATED, tenant=alice.tenant)
    assert "/undo/" not in client.get(f"{HISTORY}{created.id}/change/").content.decode()
    client.post(f"{HISTORY}{disabled.id}/undo/")
    page = client.get(HISTORY).content.decode()
    assert f"{disabled.id}/undo/" not in page and ">undone<" in page


def test_a_reorder_event_names_its_functions_in_the_list_and_on_its_page(
    alice: Persona, reordered: AuditEvent
) -> None:
    event = reordered
    first_id = event.details["before"][0]
    listing = login(alice).get(HISTORY).content.decode()
    assert "&quot;after&quot;: [&quot;second&quot;, &quot;first&quot;]" in listing
    assert first_id not in listing.split('id="result_list"')[1].split("</table>")[0]
    page = login(alice).get(f"{HISTORY}{event.id}/change/").content.decode()
    assert "Before: first → second" in page and "After: second → first" in page
    assert "/history/" not in page  # an event is history itself
    assert "<h1>Configuration change</h1>" in page
    assert '<li><a href="/admin/audit/auditevent/">Configuration history</a></li>' in page
    assert '<li aria-current="page">Configuration history</li>' in listing
