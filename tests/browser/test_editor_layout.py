"""The editor and pipelines pages at desktop and phone widths: full width, a toolbar that
stays put, a resizable split, no sideways scrolling, Publish always reachable."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import PHONE, login, screenshot_widths, scrolls_sideways
from tests.browser.test_function_editor import login_to_editor, make_function, open_editor
from tests.conftest import Persona

pytestmark = pytest.mark.browser


def _box(page: Any, selector: str) -> dict[str, float]:
    box = page.locator(selector).bounding_box()
    assert box is not None, selector
    return dict(box)


def test_the_editor_uses_the_full_width_and_its_toolbar_stays_put(
    alice: Persona, pages: Any
) -> None:
    from playwright.sync_api import expect

    function = make_function(alice.tenant, "a-function-with-a-rather-long-descriptive-name")
    page = login_to_editor(pages, "alice", function)

    expect(page.locator("#nav-sidebar")).to_have_attribute("aria-expanded", "false")
    assert _box(page, "#code-editor")["width"] > 750
    before = _box(page, "#publish-button")
    page.click("#code-editor .view-lines")
    page.keyboard.type("// x")
    expect(page.locator("#dirty-badge")).to_be_visible()
    assert _box(page, "#publish-button") == before
    assert not scrolls_sideways(page)

    # Dragging the handle to the right widens the code.
    width = _box(page, "#code-editor")["width"]
    handle = _box(page, "#split-handle")
    page.mouse.move(handle["x"] + 3, handle["y"] + 40)
    page.mouse.down()
    page.mouse.move(handle["x"] + 203, handle["y"] + 40, steps=5)
    page.mouse.up()
    page.wait_for_timeout(200)  # Monaco's automatic layout
    assert _box(page, "#code-editor")["width"] > width + 150
    screenshot_widths(page, "editor")


def test_the_editor_works_on_a_phone(alice: Persona, pages: Any) -> None:
    from playwright.sync_api import expect

    function = make_function(alice.tenant, "phone-check")
    recording = pages()
    page = login(recording, "alice", f"/admin/functions/{function.id}/")
    page.set_viewport_size(PHONE)
    open_editor(page, recording.base_url, function.id)
    expect(page.locator("#publish-button")).to_be_in_viewport()
    assert not scrolls_sideways(page)
    page.click("#code-editor .view-lines")
    page.keyboard.type("// typed on a phone")
    expect(page.locator("#dirty-badge")).to_be_visible()
    expect(page.locator("#publish-button")).to_be_in_viewport()
    assert not scrolls_sideways(page)
    page.click("#tab-history")
    assert not scrolls_sideways(page)
    page.click("#publish-button")
    expect(page.locator("#publish-confirm")).to_be_in_viewport()
    assert not scrolls_sideways(page)


def test_the_pipelines_page_fits_a_phone(alice: Persona, pages: Any) -> None:
    make_function(alice.tenant, "a-function-with-a-rather-long-descriptive-name")
    recording = pages()
    page = login(recording, "alice", "/admin/pipelines/")
    page.set_viewport_size(PHONE)
    assert not scrolls_sideways(page)
    screenshot_widths(page, "pipelines")
