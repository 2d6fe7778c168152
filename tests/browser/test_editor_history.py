"""The editor's History tab after publishing and rolling back: nothing clipped, the
version in view, and the diff comparing what is live with the draft by default."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import PHONE, screenshot, scrolls_sideways
from tests.browser.test_function_editor import (
    ALLOW_CODE,
    SECOND_RELEASE_CODE,
    login_to_editor,
    make_function,
)
from tests.browser.test_pipeline_confirmations import _publish
from tests.conftest import Persona

pytestmark = pytest.mark.browser


def _fully_visible(page: Any, selector: str) -> bool:
    """Not cut off by the panel that scrolls it (its right edge inside the panel's)."""
    return bool(
        page.eval_on_selector(
            selector,
            """node => {
              const panel = node.closest('.side-panel').getBoundingClientRect();
              const box = node.getBoundingClientRect();
              return box.width > 0 && box.left >= panel.left - 1 && box.right <= panel.right + 1;
            }""",
        )
    )


@pytest.mark.parametrize("viewport", [None, PHONE])
def test_history_after_a_rollback_shows_versions_and_unclipped_buttons(
    alice: Persona, pages: Any, viewport: Any
) -> None:
    from playwright.sync_api import expect

    function = make_function(alice.tenant, "history-check", ALLOW_CODE)
    _publish(function, alice)
    function.code = SECOND_RELEASE_CODE
    function.save()
    _publish(function, alice)
    page = login_to_editor(pages, "alice", function)
    if viewport:
        page.set_viewport_size(viewport)
    page.click("#tab-history")
    expect(page.locator("#compare-left")).to_have_value("v2")
    expect(page.locator("#compare-right")).to_have_value("draft")

    page.locator('tr[data-version="1"] .rollback-release').click()
    page.click("#rollback-confirm")
    expect(page.locator("#live-badge")).to_have_text("v3 live")
    live_row = page.locator('tr[data-version="3"]')
    expect(live_row.locator(".release-version")).to_contain_text("v3")
    expect(live_row.locator(".release-version")).to_be_visible()
    assert _fully_visible(page, 'tr[data-version="3"] .release-version')
    assert _fully_visible(page, 'tr[data-version="2"] .rollback-release')
    expect(page.locator("#compare-left")).to_have_value("v3")  # follows the live release
    assert not scrolls_sideways(page)
    name = "history-390.png" if viewport else "history-1440.png"
    screenshot(page, name)

    page.click("#compare-button")
    expect(page.locator("#diff-title")).to_have_text("Changes from v3 to the draft")
