"""The console's Env & secrets page: role-based writes, tenant scoping, write-only secrets."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from apps.audit.models import AuditEvent, AuditKind
from apps.core.actor import Actor
from apps.secrets.models import EnvVar
from apps.secrets.services import env_set
from tests.conftest import Persona

pytestmark = pytest.mark.django_db
SECRET = "lark-webhook-9f8e7d6c5b4a"
URL = "/admin/env/"


def login(persona: Persona, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(persona.user)
    return client


def set_var(persona: Persona, name: str, value: str, *, secret: bool = False) -> None:
    env_set(tenant=persona.tenant, name=name, value=value, secret=secret, actor=Actor.system())


def test_the_page_is_named_and_linked_from_the_console_index(alice: Persona) -> None:
    assert reverse("console-env") == URL
    client = login(alice)
    index = client.get("/admin/").content.decode()
    assert f'href="{URL}"' in index and "Env &amp; secrets" in index
    assert client.get("/admin/secrets/envvar/")["Location"] == URL
    assert client.get("/admin/secrets/envvar/add/").status_code == 404


def test_a_secret_set_in_the_console_is_never_shown_again(alice: Persona) -> None:
    client = login(alice)
    response = client.post(URL, {"name": "LARK_WEBHOOK", "value": SECRET, "secret": "on"})
    assert response.status_code == 302
    pages = [
        client.get(URL, follow=True),
        client.get(URL + "?edit=LARK_WEBHOOK"),
        client.get(reverse("console-env-delete", args=["LARK_WEBHOOK"])),
        client.get("/admin/"),
    ]
    for page in pages:
        assert page.status_code == 200
        assert SECRET.encode() not in page.content
    listing = pages[0].content.decode()
    assert "LARK_WEBHOOK" in listing and "Saved LARK_WEBHOOK." in listing
    assert "<em>set</em>" in listing and "alice" in listing
    assert EnvVar.objects.get(name="LARK_WEBHOOK").is_secret


def test_a_refused_secret_is_not_echoed_back_into_the_form(alice: Persona) -> None:
    response = login(alice).post(URL, {"name": "bad name", "value": SECRET, "secret": "on"})
    assert response.status_code == 200
    assert b"errorlist" in response.content
    assert SECRET.encode() not in response.content
    assert not EnvVar.objects.exists()


def test_a_plain_var_is_shown_and_can_be_edited(dave: Persona) -> None:
    client = login(dave)
    client.post(URL, {"name": "REGION", "value": "eu-west"})
    assert b"eu-west" in client.get(URL).content
    assert b"eu-west" in client.get(URL + "?edit=REGION").content
    client.post(URL, {"name": "REGION", "value": "us-east"})
    assert EnvVar.objects.get(name="REGION").value == "us-east"


def test_invalid_input_shows_the_error_next_to_the_field(alice: Persona) -> None:
    response = login(alice).post(URL, {"name": "lower", "value": "x"})
    assert response.status_code == 200
    assert b"capital letters" in response.content
    too_short = login(alice).post(URL, {"name": "SHORT", "value": "abc", "secret": "on"})
    assert b"at least 4 characters" in too_short.content


def test_deleting_asks_first_then_deletes_and_audits(alice: Persona) -> None:
    set_var(alice, "OLD_TOKEN", SECRET, secret=True)
    client = login(alice)
    confirm = client.get(reverse("console-env-delete", args=["OLD_TOKEN"]))
    assert b"Yes, delete it" in confirm.content
    assert EnvVar.objects.filter(name="OLD_TOKEN").exists()
    client.post(reverse("console-env-delete", args=["OLD_TOKEN"]))
    assert not EnvVar.objects.filter(name="OLD_TOKEN").exists()
    assert AuditEvent.objects.filter(kind=AuditKind.ENV_DELETED, object_id="OLD_TOKEN").exists()


def test_bob_the_viewer_sees_the_list_but_cannot_write(alice: Persona, bob: Persona) -> None:
    set_var(alice, "REGION", "eu-west")
    client = login(bob)
    page = client.get(URL)
    assert page.status_code == 200 and b"REGION" in page.content
    assert b'id="env-form"' not in page.content and b"read-only" in page.content
    assert client.post(URL, {"name": "REGION", "value": "hijacked"}).status_code == 403
    delete_url = reverse("console-env-delete", args=["REGION"])
    assert client.post(delete_url).status_code == 403
    assert client.get(delete_url).status_code == 403
    assert EnvVar.objects.get(name="REGION").value == "eu-west"


def test_charlie_cannot_see_or_change_acmes_env(alice: Persona, charlie: Persona) -> None:
    set_var(alice, "ACME_PLAIN", "acme-only-value")
    set_var(alice, "ACME_SECRET", SECRET, secret=True)
    client = login(charlie)
    page = client.get(URL)
    assert page.status_code == 200
    assert b"ACME_PLAIN" not in page.content and b"acme-only-value" not in page.content
    assert b"ACME_SECRET" not in page.content
    assert b"acme-only-value" not in client.get(URL + "?edit=ACME_PLAIN").content
    client.post(reverse("console-env-delete", args=["ACME_SECRET"]))
    client.post(URL, {"name": "ACME_PLAIN", "value": "overwritten"})
    assert EnvVar.objects.get(tenant=alice.tenant, name="ACME_PLAIN").value == "acme-only-value"
    assert EnvVar.objects.filter(tenant=alice.tenant, name="ACME_SECRET").exists()
    assert EnvVar.objects.get(tenant=charlie.tenant, name="ACME_PLAIN").value == "overwritten"


def test_posts_without_a_csrf_token_are_refused(alice: Persona) -> None:
    client = login(alice, csrf=True)
    assert client.post(URL, {"name": "REGION", "value": "x"}).status_code == 403
    assert not EnvVar.objects.exists()


def test_anonymous_visitors_are_sent_to_the_login_page(acme: object) -> None:
    response = Client().get(URL)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
