"""A tenant admin finds out why a login was refused: search the runs by email, open
the denied run, read the step that denied and its log, replay it in the test panel."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.admin.utils import quote

from tests.browser.conftest import login, screenshot
from tests.conftest import Persona
from tests.runs.helpers import add_function

pytestmark = pytest.mark.browser

DOMAIN_CHECK = """
async function pipe(user, context, callback) {
  console.log("checking " + user.email);
  if (!user.email.endsWith("@example.com")) {
    const err = new Error("Only example.com addresses may register");
    err.code = "domain_not_allowed";
    return callback(err);
  }
  callback(null, user, context);
}
"""


def execute(persona: Persona, email: str, ip: str) -> dict[str, Any]:
    response = persona.api().post(
        "/api/v1/pipelines/PRE_REGISTER/execute",
        {"user": {"id": f"u_{ip}", "email": email}, "context": {"ip": ip}},
        format="json",
    )
    assert response.status_code == 200, response.content[:300]
    body: dict[str, Any] = response.json()
    return body


def test_an_admin_finds_a_denied_run_by_email_and_replays_it(pages: Any, alice: Persona) -> None:
    from playwright.sync_api import expect

    function = add_function(alice.tenant, "email-domain-check", DOMAIN_CHECK)
    execute(alice, "ann@example.com", "203.0.113.1")
    denied = execute(alice, "mallory@evil.test", "198.51.100.7")
    assert denied["decision"] == "deny"

    recording = pages()
    page = login(recording, "alice", "/admin/runs/run/")
    page.fill("#searchbar", "mallory@evil.test")
    page.press("#searchbar", "Enter")
    page.wait_for_load_state("domcontentloaded")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("domain_not_allowed")
    expect(rows.first.locator(".badge-deny")).to_have_text("deny")

    rows.first.locator("th a").click()
    # The admin escapes "_" in primary keys in its URLs.
    page.wait_for_url(re.compile(rf"/admin/runs/run/{quote(denied['run_id'])}/change/"))
    denying = page.locator(".timeline-step.step-denied")
    expect(denying).to_have_count(1)
    expect(denying.locator(".step-name")).to_contain_text("email-domain-check")
    expect(denying.locator(".console-output")).to_contain_text("checking mallory@evil.test")
    expect(page.locator("#run-error")).to_contain_text("Only example.com addresses may register")
    screenshot(page, "runs-detail-denied.png")

    page.click("#replay-link")
    page.wait_for_url(re.compile(rf"/admin/functions/{function.id}/\?replay={denied['run_id']}$"))
    page.wait_for_selector("body[data-editor-ready=true]")
    expect(page.locator("#replay-note")).to_contain_text(denied["run_id"])
    expect(page.locator("#payload-user")).to_have_value(
        '{\n  "id": "u_198.51.100.7",\n  "email": "mallory@evil.test"\n}'
    )
    expect(page.locator("#payload-context")).to_have_value('{\n  "ip": "198.51.100.7"\n}')
    screenshot(page, "runs-replay-in-editor.png")
    assert recording.console_errors == []
