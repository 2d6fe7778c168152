"""API keys and members in the console, as an owner and a viewer would use them."""

from __future__ import annotations

import re
from typing import Any

import pytest

from apps.tenants.models import ApiKey, Member
from tests.browser.conftest import login, screenshot_widths
from tests.conftest import Persona

pytestmark = pytest.mark.browser


def test_an_owner_creates_a_key_sees_it_once_and_revokes_it_from_its_page(
    alice: Persona, pages: Any
) -> None:
    from playwright.sync_api import expect

    recording = pages()
    page = login(recording, "alice", "/admin/tenants/apikey/add/")
    expect(page.locator("#id_tenant")).to_have_count(0)
    expect(page.locator('input[name=scopes][value="execute"]')).to_be_checked()
    expect(page.locator('input[name=scopes][value="manage"]')).not_to_be_checked()
    expect(page.locator('input[name=scopes][value="runs:read"]')).not_to_be_checked()
    screenshot_widths(page, "apikey-add")
    page.fill("#id_name", "idp-production")
    page.click("input[name=_save]")
    expect(page.locator("ul.messagelist")).to_contain_text("will not be shown again")
    raw = re.search(r"gp_\S+", page.locator("ul.messagelist").inner_text())
    assert raw is not None
    screenshot_widths(page, "apikey-list")

    page.locator("#result_list").get_by_role("link", name="idp-production", exact=True).click()
    expect(page.locator("input[name=_save]")).to_have_count(0)
    assert raw.group(0) not in page.content()  # shown once, never again
    screenshot_widths(page, "apikey-detail")
    page.click("#revoke-key")
    expect(page.locator("#content-main")).to_contain_text("are refused")
    screenshot_widths(page, "apikey-revoke")
    page.click("#confirm-revoke")
    expect(page.locator("ul.messagelist")).to_contain_text("Revoked idp-production")
    expect(page.locator("#key-revoked")).to_be_visible()
    assert ApiKey.objects.get(name="idp-production").revoked_at is not None


def test_an_owner_invites_a_member_by_email(
    alice: Persona, pages: Any, django_user_model: Any
) -> None:
    from playwright.sync_api import expect

    django_user_model.objects.create_user(username="erin", email="erin@acme.test", password="x")
    recording = pages()
    page = login(recording, "alice", "/admin/tenants/member/")
    screenshot_widths(page, "members")
    page.click("#invite-member")
    expect(page.locator("#id_tenant")).to_have_count(0)
    page.fill("#id_username", "erin@acme.test")
    page.select_option("#id_role", "developer")
    screenshot_widths(page, "member-invite")
    page.click("input[name=_save]")
    expect(page.locator("#result_list")).to_contain_text("erin")
    member = Member.objects.get(user__username="erin")
    assert (member.tenant, member.role) == (alice.tenant, "developer")

    page.click("#invite-member")
    page.fill("#id_username", "nobody@nowhere.test")
    page.click("input[name=_save]")
    expect(page.locator(".errorlist")).to_contain_text("need an account first")


def test_a_viewer_meets_a_styled_403_page(bob: Persona, pages: Any) -> None:
    from playwright.sync_api import expect

    recording = pages()
    page = login(recording, "bob")
    response = page.goto(f"{recording.base_url}/admin/tenants/apikey/")
    assert response is not None and response.status == 403
    expect(page.locator("h1")).to_have_text("You may not open this page")
    expect(page.locator("#nav-sidebar")).to_be_attached()
    screenshot_widths(page, "error-403")
    recording.failed_responses.clear()
