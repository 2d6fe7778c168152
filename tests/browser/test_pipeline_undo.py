"""Undoing a pipeline change: from the configuration history, and from the message the
pipelines page shows after the change. Both confirm what changes in production first."""

from __future__ import annotations

from typing import Any

import pytest

from apps.pipelines.models import Function
from tests.browser.conftest import login, screenshot_widths
from tests.browser.test_function_editor import make_function
from tests.conftest import Persona

pytestmark = pytest.mark.browser


def _names(page: Any) -> list[str]:
    rows = page.locator('ol[data-trigger="PRE_REGISTER"] .function-row')
    return [rows.nth(i).get_attribute("data-name") for i in range(rows.count())]


def test_a_reorder_undone_from_the_history_restores_the_old_order(
    alice: Persona, pages: Any
) -> None:
    from playwright.sync_api import expect

    make_function(alice.tenant, "allow-list")
    make_function(alice.tenant, "block-disposable")
    recording = pages()
    page = login(recording, "alice", "/admin/pipelines/")
    page.get_by_role("button", name="Move block-disposable up").click()
    page.click("#confirm-apply")
    expect(page.locator("#pipelines-status .undo-link")).to_have_text("Undo")

    page.goto(recording.base_url + "/admin/audit/auditevent/")
    row = page.locator("#result_list tbody tr", has_text="Pipeline reordered")
    row.get_by_role("link", name="Undo…").click()
    expect(page.locator("h1")).to_contain_text("Put PRE_REGISTER back in its previous order?")
    expect(page.locator(".order-before li").first).to_contain_text("block-disposable")
    expect(page.locator(".order-after li").first).to_contain_text("allow-list")
    screenshot_widths(page, "history-undo-confirm")
    page.click("#confirm-undo")
    expect(page.locator(".messagelist")).to_contain_text("Undone: pipeline reordered")
    expect(page.locator("#result_list")).to_contain_text("undone")

    page.goto(recording.base_url + "/admin/pipelines/")
    assert _names(page) == ["allow-list", "block-disposable"]


def test_the_undo_offered_after_a_disable_comes_back_to_the_pipelines_page(
    alice: Persona, pages: Any
) -> None:
    from playwright.sync_api import expect

    gate = make_function(alice.tenant, "allow-list")
    recording = pages()
    page = login(recording, "alice", "/admin/pipelines/")
    page.get_by_label("Enable allow-list").uncheck()
    page.click("#confirm-apply")
    page.locator("#pipelines-status .undo-link").click()
    expect(page.locator(".confirm-effect")).to_contain_text("disabled: skipped →")
    page.click("#confirm-undo")
    expect(page).to_have_url(recording.base_url + "/admin/pipelines/")
    expect(page.locator(".messagelist")).to_contain_text("Undone: function enabled")
    expect(page.get_by_label("Enable allow-list")).to_be_checked()
    assert Function.objects.get(pk=gate.pk).enabled
