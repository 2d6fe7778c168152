"""The runs list and the configuration history as a tenant admin reads them: every
column readable, audit details as JSON with links to the objects."""

from __future__ import annotations

from typing import Any

import pytest

from apps.core.actor import Actor
from apps.secrets.services import env_set
from apps.tenants.services import api_key_create
from tests.browser.conftest import login, screenshot_widths
from tests.browser.test_function_editor import make_function
from tests.browser.test_pipeline_confirmations import _publish
from tests.conftest import Persona
from tests.console.runs_helpers import make_run, step

pytestmark = pytest.mark.browser

CELL_NOT_CLIPPED = """cell => {
  const inner = cell.firstElementChild || cell;
  const box = cell.getBoundingClientRect();
  const table = cell.closest('.results').getBoundingClientRect();
  return cell.scrollWidth <= cell.clientWidth + 1 && box.right <= table.right + 1;
}"""


def test_the_runs_list_shows_user_and_source_in_full(alice: Persona, pages: Any) -> None:
    from playwright.sync_api import expect

    functions = [
        make_function(alice.tenant, f"check-number-{n}-with-a-long-name") for n in range(4)
    ]
    make_run(
        alice.tenant,
        email="jane.longname-of-the-family@subsidiary.example.com",
        steps=[step(f) for f in functions],
    )
    make_run(alice.tenant, email="tester@acme.test", source="test")
    recording = pages()
    page = login(recording, "alice", "/admin/runs/run/")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)  # production runs only, unless asked
    page.get_by_role("link", name="All (with tests and replays)").click()
    expect(rows).to_have_count(2)
    screenshot_widths(page, "runs-list")
    for column in ("user", "source"):
        cells = page.locator(f"#result_list td.field-{column}")
        for index in range(cells.count()):
            assert cells.nth(index).evaluate(CELL_NOT_CLIPPED), column
    expect(page.locator("#result_list")).to_contain_text(
        "jane.longname-of-the-family@subsidiary.example.com"
    )


def test_audit_details_read_as_json_with_links(alice: Persona, pages: Any) -> None:
    from playwright.sync_api import expect

    function = make_function(alice.tenant, "email-domain-check")
    _publish(function, alice)
    actor = Actor.for_user(alice.user)
    api_key_create(tenant=alice.tenant, name="idp", scopes=["execute"], actor=actor)
    env_set(tenant=alice.tenant, name="ALLOWED_DOMAINS", value="x", secret=False, actor=actor)
    recording = pages()
    page = login(recording, "alice", "/admin/audit/auditevent/")
    results = page.locator("#result_list")
    expect(results.get_by_role("link", name="email-domain-check")).to_have_count(1)
    expect(results.get_by_role("link", name="idp")).to_have_count(1)
    expect(results.get_by_role("link", name="ALLOWED_DOMAINS")).to_have_count(1)
    assert "{'" not in results.inner_text()  # no Python-style dicts
    expect(results).to_contain_text('"version": 1')
    screenshot_widths(page, "history-list")

    results.locator("tr", has_text="Function published").locator("th a").click()
    expect(page.locator(".field-object_link a")).to_have_text("email-domain-check")
    expect(page.locator("pre.json")).to_contain_text('"version": 1')
    screenshot_widths(page, "history-detail")
