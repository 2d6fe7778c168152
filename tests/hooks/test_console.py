"""The console's IdP hooks page: URLs per tenant, write-only secrets, role-based writes."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.core import crypto
from apps.hooks.models import HookSecret
from tests.conftest import Persona
from tests.hooks.helpers import new_secret

pytestmark = pytest.mark.django_db
URL = "/admin/hooks/"
KIND = "supabase.custom_access_token"


def login(persona: Persona) -> Client:
    client = Client()
    client.force_login(persona.user)
    return client


def test_the_page_shows_this_tenants_urls_and_is_in_the_sidebar(alice: Persona) -> None:
    client = login(alice)
    assert f'href="{URL}"' in client.get("/admin/").content.decode()
    page = client.get(URL).content.decode()
    assert "http://testserver/api/v1/hooks/supabase/acme/before-user-created" in page
    assert "http://testserver/api/v1/hooks/hydra/token" in page
    assert 'id="hook-secret-form"' in page


def test_a_secret_set_here_is_stored_and_never_shown(alice: Persona) -> None:
    client = login(alice)
    secret = new_secret()
    response = client.post(URL, {"kind": KIND, "secret": secret})
    assert response.status_code == 302
    page = client.get(URL).content.decode()
    assert secret not in page and "Saved the secret" in page
    assert crypto.decrypt(HookSecret.objects.get(kind=KIND).encrypted_secret) == secret


def test_a_malformed_secret_is_refused_and_not_echoed(alice: Persona) -> None:
    response = login(alice).post(URL, {"kind": KIND, "secret": "hunter2-but-longer"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "v1,whsec_" in page and "hunter2-but-longer" not in page
    assert not HookSecret.objects.exists()


def test_viewers_read_but_cannot_set(bob: Persona) -> None:
    client = login(bob)
    page = client.get(URL).content.decode()
    assert "hook-secret-form" not in page
    assert client.post(URL, {"kind": KIND, "secret": new_secret()}).status_code == 403
    assert not HookSecret.objects.exists()


def test_another_tenants_member_sees_only_their_own(alice: Persona, charlie: Persona) -> None:
    login(alice).post(URL, {"kind": KIND, "secret": new_secret()})
    page = login(charlie).get(URL).content.decode()
    assert "/supabase/globex/" in page and "/supabase/acme/" not in page
    assert "<em>set</em>" not in page
