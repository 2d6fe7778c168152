"""The test panel says so when a step timed out and the run was still allowed."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import screenshot
from tests.browser.test_function_editor import login_to_editor, make_function, run_on_draft
from tests.conftest import Persona

pytestmark = pytest.mark.browser

HANGING_CODE = "async function pipe(user, context, callback) {\n  while (true) {}\n}\n"


def _hanging_editor(pages: Any, persona: Persona, name: str, *, deny_on_timeout: bool) -> Any:
    function = make_function(persona.tenant, name, HANGING_CODE)
    function.timeout_ms = 200
    function.terminate_on_timeout = deny_on_timeout
    function.save()
    return login_to_editor(pages, persona.user.username, function)


def test_a_timed_out_step_that_still_allows_shows_a_fail_open_warning(
    alice: Persona, pages: Any
) -> None:
    from playwright.sync_api import expect

    page = _hanging_editor(pages, alice, "slow-gate", deny_on_timeout=False)
    expect(run_on_draft(page)).to_have_text("allow")
    warning = page.locator("#fail-open-warning")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("slow-gate timed out")
    screenshot(page.locator(".side-column"), "fail-open-warning.png")
    warning.get_by_role("button", name="Open Settings").click()
    expect(page.locator("#setting-terminate")).to_be_visible()


def test_a_timeout_that_denies_shows_no_fail_open_warning(alice: Persona, pages: Any) -> None:
    from playwright.sync_api import expect

    page = _hanging_editor(pages, alice, "strict-gate", deny_on_timeout=True)
    expect(run_on_draft(page)).to_have_text("deny")
    expect(page.locator("#fail-open-warning")).to_have_count(0)


def test_a_new_function_on_a_blocking_trigger_denies_on_timeout_by_default(
    alice: Persona, pages: Any
) -> None:
    import re

    from playwright.sync_api import expect

    from apps.pipelines.models import Function
    from tests.browser.conftest import login, screenshot_widths

    recording = pages()
    page = login(recording, "alice", "/admin/functions/new/?trigger=PRE_AUTHENTICATION")
    switch = page.locator("#new-function-terminate")
    expect(switch).to_be_checked()
    page.select_option("#new-function-trigger", "POST_AUTHENTICATION")  # advisory
    expect(switch).not_to_be_checked()
    page.select_option("#new-function-trigger", "PRE_REGISTER")
    expect(switch).to_be_checked()
    screenshot_widths(page, "function-new")
    page.fill("#new-function-name", "gate")
    page.click("text=Create and open the editor")
    page.wait_for_url(re.compile(r"/admin/functions/fn_[^/]+/$"))
    assert Function.objects.get(tenant=alice.tenant, name="gate").terminate_on_timeout
