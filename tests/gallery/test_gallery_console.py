"""The console gallery: browse and filter cards, read a template, use it."""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from apps.core.actor import Actor
from apps.gallery.loader import load_all
from apps.pipelines.models import Function
from tests.conftest import Persona

pytestmark = pytest.mark.django_db
TOTAL = len(load_all())


def login(persona: Persona) -> Client:
    client = Client()
    client.force_login(persona.user)
    return client


def shown_cards(html: str) -> set[str]:
    return set(re.findall(r'<li class="gallery-card" data-slug="([a-z0-9-]+)"', html))


def test_the_gallery_shows_every_template_as_a_card(alice: Persona) -> None:
    response = login(alice).get("/admin/gallery/")
    assert response.status_code == 200
    html = response.content.decode()
    assert len(shown_cards(html)) == TOTAL >= 25
    assert f"{TOTAL} of {TOTAL} templates" in html
    assert 'src="/static/js/gallery.js"' in html


def test_filters_by_trigger_category_and_search_hide_other_cards(alice: Persona) -> None:
    client = login(alice)
    html = client.get(
        "/admin/gallery/", {"trigger": "PRE_OIDC_ACCESS_TOKEN_ISSUED"}
    ).content.decode()
    assert shown_cards(html) == {
        "access-token-custom-claims",
        "roles-permissions-access-token",
        "auth0-roles-into-tokens",
        "auth0-m2m-client-claims",
    }
    assert html.count("data-slug=") == TOTAL  # the others are rendered hidden for the script
    html = client.get(
        "/admin/gallery/", {"category": "notifications", "q": "slack"}
    ).content.decode()
    assert shown_cards(html) == {"slack-webhook-notification"}
    html = client.get("/admin/gallery/", {"q": "nothing like this"}).content.decode()
    assert shown_cards(html) == set() and 'id="gallery-empty" class="gallery-empty">' in html


def test_unknown_filter_values_are_ignored_not_an_error(alice: Persona) -> None:
    response = login(alice).get("/admin/gallery/", {"trigger": "<x>", "category": "misc"})
    assert response.status_code == 200
    assert len(shown_cards(response.content.decode())) == TOTAL


def test_anonymous_visitors_are_sent_to_login(db: None) -> None:
    for url in ("/admin/gallery/", "/admin/gallery/ip-allow-list/"):
        response = Client().get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_detail_shows_description_env_status_and_code(alice: Persona) -> None:
    from apps.secrets.services import env_set

    env_set(
        tenant=alice.tenant,
        name="RISK_API_URL",
        value="https://r.example",
        secret=False,
        actor=Actor.system(),
    )
    response = login(alice).get("/admin/gallery/ip-risk-threshold/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "async function pipe(user, context, callback)" in html
    assert re.search(r'data-env="RISK_API_URL">.*?badge-ok">set', html, re.S)
    assert re.search(r'data-env="RISK_API_TOKEN">.*?badge-deny">missing', html, re.S)
    assert 'id="use-template"' in html and 'name="trigger"' in html


def test_an_unknown_template_is_a_404_page(alice: Persona) -> None:
    assert login(alice).get("/admin/gallery/no-such-thing/").status_code == 404
    assert login(alice).post("/admin/gallery/no-such-thing/use/").status_code == 404


def test_using_a_template_creates_a_draft_and_opens_the_editor(alice: Persona) -> None:
    client = login(alice)
    response = client.post(
        "/admin/gallery/slack-webhook-notification/use/", {"trigger": "POST_REGISTER"}
    )
    function = Function.objects.get(tenant=alice.tenant)
    assert response.status_code == 302
    assert response["Location"] == f"/admin/functions/{function.pk}/"
    assert function.live_release is None and function.pipeline.trigger == "POST_REGISTER"
    notes = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("SLACK_WEBHOOK_URL" in note for note in notes)


def test_a_chosen_name_is_kept(alice: Persona) -> None:
    login(alice).post(
        "/admin/gallery/ip-allow-list/use/", {"trigger": "PRE_REGISTER", "name": "office"}
    )
    assert Function.objects.get(tenant=alice.tenant).name == "office"


def test_an_unsupported_trigger_returns_to_the_detail_with_an_error(alice: Persona) -> None:
    response = login(alice).post(
        "/admin/gallery/ip-allow-list/use/", {"trigger": "PRE_OIDC_ID_TOKEN_ISSUED"}
    )
    assert response.status_code == 302 and response["Location"] == "/admin/gallery/ip-allow-list/"
    assert not Function.objects.exists()
    assert any("does not support" in str(m) for m in get_messages(response.wsgi_request))


def test_bob_can_browse_but_not_use_a_template(bob: Persona) -> None:
    client = login(bob)
    detail = client.get("/admin/gallery/ip-allow-list/").content.decode()
    assert 'id="use-template"' not in detail
    response = client.post("/admin/gallery/ip-allow-list/use/", {"trigger": "PRE_REGISTER"})
    assert response.status_code == 403  # a page the viewer's role may not use
    assert not Function.objects.exists()


def test_charlie_uses_a_template_in_globex_never_in_acme(alice: Persona, charlie: Persona) -> None:
    login(charlie).post("/admin/gallery/ip-allow-list/use/", {"trigger": "PRE_REGISTER"})
    assert Function.objects.filter(tenant=charlie.tenant).count() == 1
    assert not Function.objects.filter(tenant=alice.tenant).exists()


def test_using_a_template_needs_the_csrf_token(alice: Persona) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice.user)
    response = client.post("/admin/gallery/ip-allow-list/use/", {"trigger": "PRE_REGISTER"})
    assert response.status_code == 403
    assert not Function.objects.exists()


def test_the_detail_says_whether_the_template_is_an_auth0_action(alice: Persona) -> None:
    html = login(alice).get("/admin/gallery/auth0-roles-into-tokens/").content.decode()
    badge = html[html.index('id="template-flavour"') :]
    assert badge[badge.index(">") + 1 : badge.index("</span>")] == "Auth0 Action"
    assert "onExecutePostLogin runs at POST_AUTHENTICATION" in badge
    pipe_page = login(alice).get("/admin/gallery/ip-risk-threshold/").content.decode()
    assert '">Authing pipe</span>' in pipe_page
