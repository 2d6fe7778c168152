"""One rule for who may open a console page (apps/console/pages.py), page kind by page
kind: not logged in, a redirect to the login page; a role below what the page or the
change needs, 403; an object of another tenant, 404 like an id that does not exist.

Personas: bob is a viewer, dave a developer and alice the owner of acme; charlie owns
globex, the other tenant."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client

from apps.audit.models import AuditEvent, AuditKind
from apps.core.actor import Actor
from apps.pipelines import services as pipeline_services
from apps.pipelines.models import Function
from apps.secrets.services import env_set
from apps.tenants.models import ApiKey
from tests.conftest import Persona
from tests.runs.helpers import add_function, allow

pytestmark = pytest.mark.django_db

PAYLOAD = json.dumps({"user": {}, "context": {}})


def without_nonces(html: bytes) -> bytes:
    # The CSP nonce and the CSRF token differ from one response to the next.
    html = re.sub(rb'nonce="[^"]*"', b"", html)
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]*"', b"", html)


def client_of(persona: Persona) -> Client:
    client = Client()
    client.force_login(persona.user)
    return client


@pytest.fixture
def acme_objects(alice: Persona) -> dict[str, Any]:
    function = add_function(alice.tenant, "gate", allow("gate"))
    pipeline_services.function_update(function=function, actor=Actor.system(), enabled=False)
    env_set(tenant=alice.tenant, name="REGION", value="eu", secret=False, actor=Actor.system())
    return {
        "function": function,
        "event": AuditEvent.objects.get(kind=AuditKind.FUNCTION_DISABLED),
        "key": ApiKey.objects.filter(tenant=alice.tenant).first(),
    }


def urls(objects: dict[str, Any]) -> dict[str, str]:
    function: Function = objects["function"]
    return {
        "editor": f"/admin/functions/{function.id}/",
        "test_payload": f"/admin/functions/{function.id}/test-payload/",
        "env_delete": "/admin/env/REGION/delete/",
        "undo": f"/admin/audit/auditevent/{objects['event'].id}/undo/",
        "revoke": f"/admin/tenants/apikey/{objects['key'].pk}/revoke/",
    }


READ_PAGES = [
    "/admin/pipelines/",
    "/admin/gallery/",
    "/admin/gallery/ip-allow-list/",
    "/admin/dashboard/",
    "/admin/hooks/",
    "/admin/env/",
]


@pytest.mark.parametrize("url", [*READ_PAGES, "/admin/functions/new/"])
def test_a_visitor_who_is_not_logged_in_is_sent_to_the_login_page(acme: Any, url: str) -> None:
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=")


@pytest.mark.parametrize("url", READ_PAGES)
def test_every_role_reads_the_read_pages(
    bob: Persona, dave: Persona, alice: Persona, url: str
) -> None:
    for persona in (bob, dave, alice):
        assert client_of(persona).get(url).status_code == 200


# (page, least role that may use it): the answer is 403 below that role, else 200.
ROLE_PAGES = [
    ("function_new", "developer"),
    ("env_delete", "developer"),
    ("undo", "developer"),
    ("test_payload", "developer"),
    ("revoke", "owner"),
]
RANK = {"viewer": 0, "developer": 1, "owner": 2}


def open_page(client: Client, page: dict[str, str], name: str) -> Any:
    if name == "test_payload":  # the test panel's JSON endpoint
        return client.post(page[name], PAYLOAD, content_type="application/json")
    return client.get(page[name])


@pytest.mark.parametrize(("name", "least"), ROLE_PAGES)
def test_each_role_uses_exactly_the_pages_its_rank_allows(
    bob: Persona, dave: Persona, alice: Persona, acme_objects: dict[str, Any], name: str, least: str
) -> None:
    page = {**urls(acme_objects), "function_new": "/admin/functions/new/"}
    for persona, role in ((bob, "viewer"), (dave, "developer"), (alice, "owner")):
        response = open_page(client_of(persona), page, name)
        assert response.status_code == (200 if RANK[role] >= RANK[least] else 403), role
        if name == "test_payload" and response.status_code == 403:
            assert response.json()["error"]["code"] == "permission_denied"


def test_a_viewer_gets_a_403_for_changes_on_pages_it_reads(bob: Persona) -> None:
    client = client_of(bob)
    assert client.post("/admin/gallery/ip-allow-list/use/").status_code == 403
    assert client.post("/admin/env/", {"name": "REGION", "value": "x"}).status_code == 403
    assert client.post("/admin/hooks/", {"kind": "x", "secret": "y"}).status_code == 403


def test_a_viewer_gets_the_403_before_any_lookup_so_it_says_nothing_of_the_object(
    bob: Persona,
) -> None:
    client = client_of(bob)
    assert client.get("/admin/env/NO_SUCH_VAR/delete/").status_code == 403
    refused = client.post(
        "/admin/functions/fn_nope/test-payload/", PAYLOAD, content_type="application/json"
    )
    assert refused.status_code == 403


def test_another_tenants_objects_are_404_on_every_page_kind(
    charlie: Persona, acme_objects: dict[str, Any]
) -> None:
    client, page = client_of(charlie), urls(acme_objects)
    for name in ("editor", "env_delete", "undo", "revoke"):
        assert client.get(page[name]).status_code == 404, name
    missing = client.post(page["test_payload"], PAYLOAD, content_type="application/json")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert Function.objects.get(pk=acme_objects["function"].pk).test_payload == {}


def test_another_tenants_object_answers_like_one_that_does_not_exist(
    charlie: Persona, acme_objects: dict[str, Any]
) -> None:
    client, page = client_of(charlie), urls(acme_objects)
    made_up_url = "/admin/functions/fn_made_up/"
    made_up, real = client.get(made_up_url), client.get(page["editor"])
    assert real.status_code == made_up.status_code == 404
    # The page differs only by the address it was asked for (the tenant switcher's "next").
    real_page = without_nonces(real.content).replace(page["editor"].encode(), made_up_url.encode())
    assert real_page == without_nonces(made_up.content)


def test_a_superuser_with_no_tenant_to_work_on_gets_a_403(django_user_model: Any) -> None:
    root = django_user_model.objects.create_superuser(username="root", password="x" * 12)
    client = Client()
    client.force_login(root)
    for url in ("/admin/pipelines/", "/admin/gallery/", "/admin/dashboard/", "/admin/env/"):
        assert client.get(url).status_code == 403, url
