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
