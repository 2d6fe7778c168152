"""IntelliSense for `user.` and `context.` in a gallery template exactly as it ships:
no JSDoc comment in the code, nothing inserted into it."""

from __future__ import annotations

import re
from typing import Any

import pytest

from apps.gallery.services import templates_sync
from apps.pipelines.models import Function
from tests.browser.conftest import login, screenshot
from tests.browser.test_function_editor import editor_code
from tests.conftest import Persona

pytestmark = pytest.mark.browser


def _type_on_new_line_after(page: Any, text: str, typed: str) -> None:
    line = page.evaluate(
        "text => window.genauthEditor.getModel().findMatches(text, false, false, true, null, false)"
        "[0].range.startLineNumber",
        text,
    )
    page.evaluate(
        "line => window.genauthEditor.setPosition({lineNumber: line, column: 1000})", line
    )
    page.click("#code-editor .view-lines")
    page.evaluate(
        "line => window.genauthEditor.setPosition({lineNumber: line, column: 1000})", line
    )
    page.keyboard.press("End")
    page.keyboard.press("Enter")
    page.keyboard.type(typed)


def test_user_and_context_complete_in_an_untouched_gallery_template(
    alice: Persona, pages: Any
) -> None:
    from playwright.sync_api import expect

    templates_sync()
    recording = pages()
    page = login(recording, "alice", "/admin/gallery/ip-allow-list/")
    page.select_option("#use-trigger", "PRE_AUTHENTICATION")
    page.click("#use-template button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/functions/fn_[0-9A-Z]+/$"))
    page.wait_for_selector("body[data-editor-ready=true]")
    function = Function.objects.get(tenant=alice.tenant)
    assert "@param" not in function.code
    assert editor_code(page) == function.code

    suggestions = page.locator(".suggest-widget")
    _type_on_new_line_after(page, "const ip = ", "user.")
    expect(suggestions).to_be_visible()
    expect(suggestions).to_contain_text("addCustomData")
    expect(suggestions).to_contain_text("emailVerified")
    screenshot(page, "completion-user.png")
    page.keyboard.press("Escape")
    page.keyboard.type("email;")

    _type_on_new_line_after(page, "user.email;", "context.")
    expect(suggestions).to_be_visible()
    expect(suggestions).to_contain_text("loginMethod")  # PRE_AUTHENTICATION's own field
    expect(suggestions).to_contain_text("userAgent")
    screenshot(page, "completion-context.png")
    page.keyboard.press("Escape")
    page.keyboard.type("ip;")

    _type_on_new_line_after(page, "context.ip;", "context.application.")
    expect(suggestions).to_contain_text("name")

    # Nothing but what was typed went into the code.
    code = editor_code(page)
    assert "@param" not in code and "GenAuth" not in code
    assert recording.console_errors == []
