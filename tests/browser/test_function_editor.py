"""The console's pipelines page and function editor, driven as a person would in Chromium."""

from __future__ import annotations

import re
from typing import Any

import pytest

from apps.audit.models import AuditEvent, AuditKind
from apps.pipelines.models import Function, Pipeline
from apps.tenants.models import Tenant
from tests.browser.conftest import login, screenshot
from tests.conftest import Persona

pytestmark = pytest.mark.browser

DENY_CODE = """/**
 * @param {GenAuth.User} user
 * @param {GenAuth.Context<"PRE_REGISTER">} context
 * @param {GenAuth.Callback} callback
 */
async function pipe(user, context, callback) {
  if (!user.email.endsWith("@example.org")) {
    const err = new Error("Only example.org addresses may register");
    err.code = "email_domain_not_allowed";
    return callback(err);
  }
  callback(null, user, context);
}
"""

ALLOW_CODE = """/**
 * @param {GenAuth.User} user
 * @param {GenAuth.Context<"PRE_REGISTER">} context
 * @param {GenAuth.Callback} callback
 */
async function pipe(user, context, callback) {
  if (!user.email.endsWith("@example.com")) {
    return callback(new Error("Only example.com addresses may register"));
  }
  console.info("welcome", user.email);
  user.addCustomData("plan", "free");
  context.checkedBy = "email-domain-check";
  user.name = user.name.toUpperCase();
  callback(null, user, context);
}
"""

SECOND_RELEASE_CODE = ALLOW_CODE.replace('"plan", "free"', '"plan", "pro"')

BROKEN_CODE = """async function pipe(user, context, callback) {
  const domain = user.email.split("@")[1];
  if (domain === "example.com" {
    return callback(new Error("no"));
  }
  callback(null, user, context);
}
"""

THROWING_CODE = """async function pipe(user, context, callback) {
  const domain = user.email.split("@")[1];
  if (domain === "replayed.example") {
    throw new TypeError("no plan for " + domain);
  }
  callback(null, user, context);
}
"""

SIMPLE_CODE = (
    "async function pipe(user, context, callback) {\n  callback(null, user, context);\n}\n"
)


def make_function(tenant: Tenant, name: str, code: str = SIMPLE_CODE) -> Function:
    pipeline, _ = Pipeline.objects.get_or_create(tenant=tenant, trigger="PRE_REGISTER")
    position = Function.objects.filter(pipeline=pipeline).count()
    return Function.objects.create(
        tenant=tenant, pipeline=pipeline, name=name, position=position, code=code
    )


def open_editor(page: Any, base_url: str, function_id: str) -> None:
    page.goto(f"{base_url}/admin/functions/{function_id}/")
    page.wait_for_selector("body[data-editor-ready=true]")
    page.wait_for_selector("#code-editor .monaco-editor")


def login_to_editor(pages: Any, username: str, function: Function) -> Any:
    """A fresh browser context logged in as ``username``, on the function's editor."""
    recording = pages()
    page = login(recording, username, f"/admin/functions/{function.id}/")
    open_editor(page, recording.base_url, function.id)
    return page


def replace_code(page: Any, code: str) -> None:
    """Select everything in Monaco and paste the new code over it with the keyboard."""
    page.evaluate("text => navigator.clipboard.writeText(text)", code)
    page.click("#code-editor .view-lines")
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.press("ControlOrMeta+V")
    page.wait_for_function("code => window.genauthEditor.getValue() === code", arg=code)


def editor_code(page: Any) -> str:
    return str(page.evaluate("window.genauthEditor.getValue()"))


def expect_status(page: Any, pattern: str) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#editor-status")).to_have_text(re.compile(pattern), timeout=15_000)


def run_on_draft(page: Any) -> Any:
    page.evaluate("document.getElementById('test-result').replaceChildren()")
    page.click("#run-draft")
    decision = page.locator("#test-decision")
    decision.wait_for(timeout=20_000)
    return decision


def test_a_new_user_writes_tests_publishes_diffs_rolls_back_and_reorders(
    alice: Persona, pages: Any
) -> None:
    from playwright.sync_api import expect

    recording = pages()
    base = recording.base_url
    page = login(recording, "alice", "/admin/")
    page.locator("#nav-sidebar").get_by_role("link", name="Pipelines").click()
    expect(page.locator("h2#trigger-PRE_REGISTER")).to_be_visible()

    # Create a function from the PRE_REGISTER pipeline.
    page.locator('section[data-trigger="PRE_REGISTER"]').get_by_role(
        "link", name="New function"
    ).click()
    page.fill("#new-function-name", "email-domain-check")
    page.click("text=Create and open the editor")
    page.wait_for_url(re.compile(r"/admin/functions/fn_[^/]+/$"))
    page.wait_for_selector("body[data-editor-ready=true]")
    function = Function.objects.get(tenant=alice.tenant, name="email-domain-check")
    assert "async function pipe" in editor_code(page)

    # Type a deny rule, save it with Ctrl+S and see the deny with its message.
    replace_code(page, DENY_CODE)
    expect(page.locator("#dirty-badge")).to_be_visible()
    page.fill("#save-comment", "Only example.org may register")
    page.click("#code-editor .view-lines")
    page.keyboard.press("ControlOrMeta+S")
    expect_status(page, "Draft saved")
    expect(page.locator("#dirty-badge")).to_be_hidden()
    function.refresh_from_db()
    assert function.code == DENY_CODE
    saves = AuditEvent.objects.filter(object_id=function.id, kind=AuditKind.DRAFT_SAVED)
    assert [event.details.get("comment") for event in saves] == ["Only example.org may register"]
    expect(run_on_draft(page)).to_have_text("deny")
    expect(page.locator("#test-deny")).to_contain_text("Only example.org addresses may register")
    expect(page.locator("#test-deny")).to_contain_text("email_domain_not_allowed")

    # Fix it: the run allows and shows what the function changed.
    replace_code(page, ALLOW_CODE)
    expect(run_on_draft(page)).to_have_text("allow")
    result = page.locator("#test-result")
    expect(result.locator(".change-added")).to_contain_text("checkedBy")
    expect(result.locator(".change-changed")).to_contain_text("JANE DOE")
    expect(result).to_contain_text("plan")
    expect(result.locator(".console-output")).to_contain_text("welcome jane@example.com")
    screenshot(page, "editor.png")
    screenshot(page.locator(".side-column"), "test-panel.png")

    # Publish (unsaved edits are saved first).
    page.click("#publish-button")
    expect(page.locator("#publish-warning")).to_be_visible()
    page.fill("#publish-comment", "First release")
    page.click("#publish-confirm")
    expect(page.locator("#live-badge")).to_have_text("v1 live")
    function.refresh_from_db()
    assert function.live_release is not None and function.live_release.code == ALLOW_CODE

    # Edit again, save, and compare the draft with v1 in the diff editor.
    replace_code(page, SECOND_RELEASE_CODE)
    page.click("#save-button")
    expect_status(page, "Draft saved")
    expect(page.locator("#draft-badge")).to_be_visible()
    page.click("#tab-history")
    page.locator('tr[data-version="1"] .diff-release').click()
    diff = page.locator("#diff-section")
    expect(diff).to_be_visible()
    expect(page.locator("#diff-title")).to_have_text("Changes from v1 to the draft")
    expect(diff.locator(".editor.modified")).to_contain_text('"pro"')
    expect(diff.locator(".editor.original")).to_contain_text('"free"')
    screenshot(page, "diff.png")

    # Publish v2, then roll back to v1 after confirming.
    page.click("#publish-button")
    page.fill("#publish-comment", "Pro plan for everyone")
    page.click("#publish-confirm")
    expect(page.locator("#live-badge")).to_have_text("v2 live")
    page.locator('tr[data-version="1"] .rollback-release').click()
    expect(page.locator("#rollback-dialog")).to_be_visible()
    page.click("#rollback-confirm")
    expect(page.locator("#live-badge")).to_have_text("v3 live")
    expect(page.locator('tr[data-version="3"]')).to_contain_text("live")
    function.refresh_from_db()
    assert function.live_release is not None
    assert (function.live_release.version, function.live_release.code) == (3, ALLOW_CODE)

    # Reorder two functions by drag and drop.
    other = make_function(alice.tenant, "block-disposable-email")
    page.goto(f"{base}/admin/pipelines/")
    rows = page.locator('ol[data-trigger="PRE_REGISTER"] .function-row')
    expect(rows).to_have_count(2)
    assert rows.nth(0).get_attribute("data-function-id") == function.id
    rows.nth(1).drag_to(rows.nth(0), target_position={"x": 40, "y": 4})
    page.click("#confirm-apply")
    expect(page.locator("#pipelines-status")).to_contain_text("saved")
    page.reload()
    assert (
        page.locator('ol[data-trigger="PRE_REGISTER"] .function-row')
        .nth(0)
        .get_attribute("data-function-id")
        == other.id
    )
    ordered = Function.objects.filter(pipeline=function.pipeline).order_by("position")
    assert [f.id for f in ordered] == [other.id, function.id]
    screenshot(page, "pipelines.png")
    assert recording.console_errors == []
    assert recording.failed_responses == []


def test_the_editor_offers_the_contracts_intellisense_and_the_tenants_env_names(
    alice: Persona, pages: Any
) -> None:
    from apps.secrets.models import EnvVar

    EnvVar.objects.create(tenant=alice.tenant, name="ALLOWED_DOMAINS", value="example.com")
    function = make_function(alice.tenant, "hints", DENY_CODE)
    page = login_to_editor(pages, "alice", function)
    page.evaluate("window.genauthEditor.setPosition({lineNumber: 12, column: 1})")
    page.click("#code-editor .view-lines")
    page.evaluate("window.genauthEditor.setPosition({lineNumber: 12, column: 1})")
    page.keyboard.type("user.addC")
    suggestions = page.locator(".suggest-widget")
    suggestions.wait_for(state="visible")
    from playwright.sync_api import expect

    expect(suggestions).to_contain_text("addCustomData")
    page.keyboard.press("Escape")
    page.keyboard.press("Enter")
    page.keyboard.type("env.ALL")
    expect(page.locator(".suggest-widget")).to_contain_text("ALLOWED_DOMAINS")


def test_a_syntax_error_is_shown_with_its_line_and_blocks_saving(
    alice: Persona, pages: Any
) -> None:
    from playwright.sync_api import expect

    function = make_function(alice.tenant, "broken")
    page = login_to_editor(pages, "alice", function)
    replace_code(page, BROKEN_CODE)
    problem = page.locator("#problems .problem").first
    expect(problem).to_contain_text("line 3", timeout=15_000)
    expect(page.locator("#code-editor .squiggly-error").first).to_be_attached()
    page.keyboard.press("ControlOrMeta+S")
    expect_status(page, "Fix the syntax error on line 3")
    function.refresh_from_db()
    assert function.code == SIMPLE_CODE

    # Settings are saved on their own, without the broken draft.
    page.click("#tab-settings")
    page.fill("#setting-timeout", "5000")
    page.check("#setting-terminate")
    page.fill("#setting-description", "Refuses unknown domains")
    page.click("#settings-form button[type=submit]")
    expect_status(page, "Settings saved")
    function.refresh_from_db()
    assert (function.timeout_ms, function.terminate_on_timeout) == (5000, True)
    assert function.description == "Refuses unknown domains" and function.code == SIMPLE_CODE
    page.fill("#setting-timeout", "60001")
    page.click("#settings-form button[type=submit]")
    assert page.evaluate("document.getElementById('setting-timeout').validity.valid") is False


def test_a_replayed_run_fails_and_its_error_line_opens_in_the_editor(
    alice: Persona, pages: Any
) -> None:
    from django.utils import timezone
    from playwright.sync_api import expect

    from apps.runs.models import Run

    function = make_function(alice.tenant, "plan-lookup", THROWING_CODE)
    run = Run.objects.create(
        tenant=alice.tenant,
        trigger="PRE_REGISTER",
        status="ok",
        decision="allow",
        input={"user": {"email": "kim@replayed.example"}, "context": {"ip": "198.51.100.4"}},
        caller="key:gp_test",
        created_at=timezone.now(),
    )
    recording = pages()
    page = login(recording, "alice", f"/admin/functions/{function.id}/?replay={run.id}")
    page.wait_for_selector("body[data-editor-ready=true]")
    expect(page.locator("#replay-note")).to_contain_text(run.id)
    expect(page.locator("#payload-user")).to_have_value(re.compile("kim@replayed.example"))

    expect(run_on_draft(page)).to_have_text("deny")
    error = page.locator("#test-result .error-link")
    expect(error).to_contain_text("no plan for replayed.example")
    expect(error).to_contain_text("line 4")
    error.click()
    assert page.evaluate("window.genauthEditor.getPosition().lineNumber") == 4

    # The kept payload is the replayed one; the whole pipeline runs the saved draft too.
    function.refresh_from_db()
    assert function.test_payload["user"] == {"email": "kim@replayed.example"}
    page.click("#run-pipeline")
    expect(page.locator("#test-result .muted").first).to_contain_text("whole PRE_REGISTER pipeline")
    expect(page.locator("#test-decision")).to_have_text("deny")

    # Whoever wants the JSDoc types in the code itself has an editor action for it.
    page.evaluate("window.genauthEditor.getAction('genauth.addTypeHints').run()")
    assert '@param {GenAuth.Context<"PRE_REGISTER">} context' in editor_code(page)


def test_bob_the_viewer_sees_a_read_only_editor_without_write_buttons(
    alice: Persona, bob: Persona, pages: Any
) -> None:
    from playwright.sync_api import expect

    function = make_function(alice.tenant, "domain-check")
    page = login_to_editor(pages, "bob", function)
    expect(page.locator("#readonly-badge")).to_be_visible()
    for control in ("#save-button", "#publish-button", "#run-draft", ".rollback-release"):
        expect(page.locator(control)).to_have_count(0)
    page.click("#code-editor .view-lines")
    page.keyboard.type("// bob was here")
    assert editor_code(page) == SIMPLE_CODE
    page.goto(page.url.split("/admin/")[0] + "/admin/pipelines/")
    expect(page.locator(".function-row")).to_have_count(1)
    expect(page.locator("text=New function")).to_have_count(0)
    expect(page.locator(".enable-toggle")).to_have_count(0)


def test_charlie_cannot_open_acmes_editor_by_url(
    alice: Persona, charlie: Persona, pages: Any
) -> None:
    function = make_function(alice.tenant, "acme-only")
    recording = pages()
    page = login(recording, "charlie")
    response = page.goto(f"{recording.base_url}/admin/functions/{function.id}/")
    assert response is not None and response.status == 404
    assert "acme-only" not in page.content()
