"""Reordering and enabling/disabling functions go live at once, so the pipelines page
asks first and shows what changes in production."""

from __future__ import annotations

from typing import Any

import pytest

from apps.core.actor import Actor
from apps.pipelines.models import Function
from apps.pipelines.services import function_publish
from tests.browser.conftest import login, screenshot_widths
from tests.browser.test_function_editor import make_function
from tests.conftest import Persona

pytestmark = pytest.mark.browser


def _order(function: Function) -> list[str]:
    return list(
        Function.objects.filter(pipeline=function.pipeline)
        .order_by("position")
        .values_list("name", flat=True)
    )


def test_reordering_asks_first_and_cancel_changes_nothing(alice: Persona, pages: Any) -> None:
    from playwright.sync_api import expect

    first = make_function(alice.tenant, "allow-list")
    make_function(alice.tenant, "block-disposable")
    recording = pages()
    page = login(recording, "alice", "/admin/pipelines/")
    rows = page.locator('ol[data-trigger="PRE_REGISTER"] .function-row')

    page.get_by_role("button", name="Move block-disposable up").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator(".order-before li").first).to_contain_text("allow-list")
    expect(dialog.locator(".order-after li").first).to_contain_text("block-disposable")
    screenshot_widths(page, "pipelines-confirm-reorder")
    page.click("#confirm-cancel")
    expect(rows.first).to_have_attribute("data-name", "allow-list")
    assert _order(first) == ["allow-list", "block-disposable"]

    page.get_by_role("button", name="Move block-disposable up").click()
    page.click("#confirm-apply")
    expect(page.locator("#pipelines-status")).to_contain_text("saved")
    assert _order(first) == ["block-disposable", "allow-list"]


def test_disabling_a_live_function_says_its_checks_stop(alice: Persona, pages: Any) -> None:
    from playwright.sync_api import expect

    gate = make_function(alice.tenant, "allow-list")
    _publish(gate, alice)
    recording = pages()
    page = login(recording, "alice", "/admin/pipelines/")
    page.get_by_label("Enable allow-list").uncheck()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_contain_text("skips allow-list (v1 live)")
    screenshot_widths(page, "pipelines-confirm-disable")
    page.click("#confirm-cancel")
    expect(page.get_by_label("Enable allow-list")).to_be_checked()
    gate.refresh_from_db()
    assert gate.enabled

    page.get_by_label("Enable allow-list").uncheck()
    page.click("#confirm-apply")
    expect(page.locator("#pipelines-status")).to_contain_text("disabled")
    gate.refresh_from_db()
    assert not gate.enabled


def _publish(function: Function, persona: Persona) -> None:
    function_publish(function=function, actor=Actor.for_user(persona.user), comment="first")
