"""The console home and its sidebar, as a new member finds them."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from apps.pipelines.models import Function, Pipeline
from apps.runs.models import Run
from tests.browser.conftest import PHONE, login, screenshot_widths, scrolls_sideways
from tests.conftest import Persona

pytestmark = pytest.mark.browser


def test_a_new_owner_lands_on_the_home_and_finds_every_page(alice: Persona, pages: Any) -> None:
    from playwright.sync_api import expect

    pipeline = Pipeline.objects.create(tenant=alice.tenant, trigger="PRE_AUTHENTICATION")
    Function.objects.create(
        tenant=alice.tenant,
        pipeline=pipeline,
        name="block-tor",
        position=0,
        code="function pipe(){}",
    )
    Run.objects.create(
        tenant=alice.tenant,
        trigger="PRE_AUTHENTICATION",
        source="api",
        decision="deny",
        status="denied",
        error_code="ip_blocked",
        caller="key:gp_x",
        user_email="eve@evil.test",
        created_at=timezone.now(),
    )
    recording = pages()
    page = login(recording, "alice")
    expect(page.locator("h1")).to_have_text("Acme")
    row = page.locator('.home-pipeline[data-trigger="PRE_AUTHENTICATION"]')
    expect(row.locator(".function-count")).to_have_text("1")
    expect(row).to_contain_text("block-tor")
    expect(row).to_contain_text("draft only")
    expect(page.locator(".home-problems")).to_contain_text("eve@evil.test")
    screenshot_widths(page, "home")

    sidebar = page.locator("#nav-sidebar")
    for label, heading in [
        ("Pipelines", "Pipelines"),
        ("Gallery", "Template gallery"),
        ("Dashboard", "Dashboard"),
        ("Runs", "Runs"),
        ("Configuration history", "Configuration history"),
        ("Env & secrets", "Env & secrets"),
        ("API keys", "API keys"),
        ("Members", "Members"),
    ]:
        sidebar.get_by_role("link", name=label, exact=True).click()
        page.wait_for_load_state("domcontentloaded")
        expect(page.locator("#nav-sidebar [aria-current=page]")).to_have_text(label)
        assert heading.lower() in page.title().lower(), page.title()
        slug = label.lower().replace(" & ", "-").replace(" ", "-")
        screenshot_widths(page, f"page-{slug}")
    assert recording.console_errors == []


def test_a_viewer_sees_only_what_she_may_open(bob: Persona, pages: Any) -> None:
    from playwright.sync_api import expect

    recording = pages()
    page = login(recording, "bob")
    sidebar = page.locator("#nav-sidebar")
    expect(sidebar.get_by_role("link", name="Runs", exact=True)).to_be_visible()
    expect(sidebar.get_by_role("link", name="API keys")).to_have_count(0)
    sidebar.get_by_role("link", name="Members").click()
    expect(page.locator("#invite-member")).to_have_count(0)
    expect(page.get_by_role("link", name="New function")).to_have_count(0)


def test_the_home_fits_a_phone(alice: Persona, pages: Any) -> None:
    recording = pages()
    page = login(recording, "alice")
    page.set_viewport_size(PHONE)
    assert not scrolls_sideways(page)
