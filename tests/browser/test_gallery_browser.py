"""The template gallery in Chromium: browse, filter, read a template and use it."""

from __future__ import annotations

import re
from typing import Any

import pytest

from apps.gallery.services import templates_sync
from apps.pipelines.models import Function
from tests.browser.conftest import login, screenshot
from tests.conftest import Persona

pytestmark = pytest.mark.browser


def visible_slugs(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        "#gallery-cards .gallery-card:not([hidden])", "cards => cards.map(c => c.dataset.slug)"
    )


def test_a_developer_finds_a_template_by_filters_and_uses_it(pages: Any, alice: Persona) -> None:
    templates_sync()
    recording = pages()
    page = login(recording, "alice", "/admin/gallery/")
    page.wait_for_selector("#gallery-cards")
    total = len(visible_slugs(page))
    assert total >= 25
    screenshot(page, "gallery.png")

    page.fill("#gallery-q", "slack")
    assert visible_slugs(page) == ["slack-webhook-notification"]
    assert page.text_content("#gallery-count") == f"1 of {total} templates"
    page.fill("#gallery-q", "")
    page.select_option("#gallery-trigger", "PRE_OIDC_ACCESS_TOKEN_ISSUED")
    assert sorted(visible_slugs(page)) == [
        "access-token-custom-claims",
        "auth0-m2m-client-claims",
        "auth0-roles-into-tokens",
        "roles-permissions-access-token",
    ]
    page.select_option("#gallery-category", "notifications")
    assert visible_slugs(page) == []
    assert page.is_visible("#gallery-empty")
    assert "trigger=PRE_OIDC_ACCESS_TOKEN_ISSUED" in page.url  # filters survive a reload

    page.select_option("#gallery-category", "")
    page.select_option("#gallery-trigger", "POST_AUTHENTICATION")
    page.fill("#gallery-q", "lark notification")
    assert visible_slugs(page) == ["lark-webhook-notification"]
    page.click("[data-slug=lark-webhook-notification] a")
    page.wait_for_selector("#template-code")
    assert "async function pipe(user, context, callback)" in page.text_content("#template-code")
    assert page.input_value("#use-trigger") == "POST_AUTHENTICATION"
    assert "missing" in page.text_content("[data-env=LARK_WEBHOOK_URL]")
    screenshot(page, "gallery-detail.png")

    page.click("#use-template button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/functions/fn_[0-9A-Z]+/$"))
    function = Function.objects.get(tenant=alice.tenant)
    assert page.url.endswith(f"/admin/functions/{function.pk}/")
    assert function.pipeline.trigger == "POST_AUTHENTICATION" and function.live_release is None
    assert function.is_async is True
    notice = page.text_content("ul.messagelist")
    assert "LARK_WEBHOOK_URL" in notice and "lark-webhook-notification" in notice
    page.wait_for_selector("body[data-editor-ready=true]")
    # Script errors and CSP refusals show here; failed loads are judged by failed_responses.
    assert [e for e in recording.console_errors if "Failed to load resource" not in e] == []


def test_the_gallery_filters_without_javascript_too(
    browser: Any, live_server: Any, alice: Persona
) -> None:
    templates_sync()
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/admin/login/?next=/admin/gallery/")
        page.fill("#id_username", "alice")
        page.fill("#id_password", "correct horse 9")
        page.click("input[type=submit]")
        page.fill("#gallery-q", "disposable")
        page.click("#gallery-filters button[type=submit]")
        page.wait_for_url(re.compile(r"q=disposable"))
        assert visible_slugs(page) == ["disposable-email-block"]
    finally:
        context.close()


def test_a_viewer_reads_templates_but_has_no_use_button(pages: Any, bob: Persona) -> None:
    templates_sync()
    recording = pages()
    page = login(recording, "bob", "/admin/gallery/ip-allow-list/")
    page.wait_for_selector("#template-code")
    assert page.query_selector("#use-template") is None
    assert "but not create functions" in page.text_content(".gallery-side")
