"""Every console page at 1440 and 390 px: screenshots for review (test-artifacts/) and no
page that scrolls sideways on a phone."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin.utils import quote

from apps.audit.models import AuditEvent, AuditKind
from apps.core.actor import Actor
from apps.gallery.services import templates_sync
from apps.pipelines.services import pipeline_reorder
from apps.secrets.services import env_set
from apps.tenants.models import ApiKey, Member
from tests.browser.conftest import PHONE, login, screenshot_widths, scrolls_sideways
from tests.browser.test_function_editor import make_function
from tests.conftest import Persona
from tests.console.runs_helpers import make_run, step

pytestmark = pytest.mark.browser

# The outermost elements that stick out to the right: what to fix when a page scrolls.
WIDEST_ELEMENTS = """() => {
  const width = window.innerWidth;
  const out = [];
  for (const node of document.querySelectorAll("body *")) {
    const box = node.getBoundingClientRect();
    const parent = node.parentElement && node.parentElement.getBoundingClientRect();
    if (box.width > 0 && box.right > width + 1 && (!parent || parent.right <= width + 1)) {
      out.push(node.tagName + "." + node.className + "#" + node.id + " " + Math.round(box.right));
    }
  }
  return out.slice(0, 10);
}"""


# What a person sees as broken on a page at either width: an unstyled (pre-Django 5)
# breadcrumb bar, links drawn as buttons or cards with their labels underlined, and at
# 1440 px a results table whose last columns are cut off.
LOOKS_BROKEN = """() => {
  const found = [];
  if (document.querySelector("div.breadcrumbs")) found.push("unstyled breadcrumbs");
  for (const link of document.querySelectorAll("#content a.button, #content a.gallery-card-link")) {
    if (getComputedStyle(link).textDecorationLine.includes("underline")) {
      found.push("underlined " + link.className + ": " + link.textContent.trim().slice(0, 30));
    }
  }
  const results = document.querySelector("#changelist .results");
  if (window.innerWidth >= 1440 && results && results.scrollWidth > results.clientWidth + 1) {
    found.push("results cut off: " + results.scrollWidth + " > " + results.clientWidth);
  }
  return found;
}"""


def _pages(persona: Persona) -> dict[str, str]:
    function = make_function(persona.tenant, "email-domain-check")
    run = make_run(
        persona.tenant,
        decision="deny",
        status="denied",
        error_code="domain_not_allowed",
        steps=[step(function, status="denied")],
    )
    env_set(
        tenant=persona.tenant,
        name="API_URL",
        value="https://x.test",
        secret=False,
        actor=Actor.for_user(persona.user),
    )
    event = persona.tenant.audit_events.order_by("-created_at").first()
    assert event is not None
    second = make_function(persona.tenant, "block-disposable-emails")
    pipeline_reorder(
        tenant=persona.tenant,
        trigger="PRE_REGISTER",
        function_ids=[second.id, function.id],
        actor=Actor.for_user(persona.user),
    )
    reorder = AuditEvent.objects.get(tenant=persona.tenant, kind=AuditKind.PIPELINE_REORDERED)
    member = Member.objects.get(user=persona.user)
    key = ApiKey.objects.filter(tenant=persona.tenant).first()
    assert key is not None
    return {
        "home": "/admin/",
        "pipelines": "/admin/pipelines/",
        "function-new": "/admin/functions/new/?trigger=PRE_REGISTER",
        "editor": f"/admin/functions/{function.id}/",
        "gallery": "/admin/gallery/",
        "gallery-detail": "/admin/gallery/ip-allow-list/",
        "dashboard": "/admin/dashboard/",
        "runs": "/admin/runs/run/",
        "run-detail": f"/admin/runs/run/{quote(run.id)}/change/",
        "history": "/admin/audit/auditevent/",
        "history-detail": f"/admin/audit/auditevent/{quote(event.id)}/change/",
        "history-reorder": f"/admin/audit/auditevent/{quote(reorder.id)}/change/",
        "history-undo": f"/admin/audit/auditevent/{quote(reorder.id)}/undo/",
        "env": "/admin/env/",
        "env-delete": "/admin/env/API_URL/delete/",
        "hooks": "/admin/hooks/",
        "apikeys": "/admin/tenants/apikey/",
        "apikey-add": "/admin/tenants/apikey/add/",
        "apikey-detail": f"/admin/tenants/apikey/{key.pk}/change/",
        "members": "/admin/tenants/member/",
        "member-invite": "/admin/tenants/member/add/",
        "member-detail": f"/admin/tenants/member/{member.pk}/change/",
        "tenant": f"/admin/tenants/tenant/{persona.tenant.pk}/change/",
        "not-found": "/admin/functions/fn_missing/",
    }


def test_every_console_page_fits_a_phone_and_looks_finished(alice: Persona, pages: Any) -> None:
    templates_sync()
    urls = _pages(alice)
    recording = pages()
    page = login(recording, "alice")
    sideways, broken = [], []
    for name, path in urls.items():
        page.set_viewport_size(PHONE)
        page.goto(recording.base_url + path)
        if name == "editor":
            page.wait_for_selector("body[data-editor-ready=true]")
        if scrolls_sideways(page):
            culprits = page.evaluate(WIDEST_ELEMENTS)
            sideways.append((name, culprits))
        screenshot_widths(page, f"tour-{name}")  # leaves the page at 1440 px
        broken += [(name, problem) for problem in page.evaluate(LOOKS_BROKEN)]
    recording.failed_responses[:] = [r for r in recording.failed_responses if "fn_missing" not in r]
    assert sideways == [], "\n".join(map(str, sideways))
    assert broken == [], "\n".join(map(str, broken))


VIEWER_PAGES = (
    "home",
    "pipelines",
    "editor",
    "gallery-detail",
    "runs",
    "history",
    "history-reorder",
    "env",
    "members",
)  # API keys are for developers and owners: not in a viewer's sidebar, a styled 403


def test_a_viewer_reads_every_page_and_is_offered_no_change(
    alice: Persona, bob: Persona, pages: Any
) -> None:
    templates_sync()
    urls = _pages(alice)
    recording = pages()
    page = login(recording, "bob")
    problems = []
    for name in VIEWER_PAGES:
        page.set_viewport_size(PHONE)
        response = page.goto(recording.base_url + urls[name])
        if name == "editor":
            page.wait_for_selector("body[data-editor-ready=true]")
        if scrolls_sideways(page):
            problems.append((name, "scrolls sideways"))
        screenshot_widths(page, f"tour-viewer-{name}")
        problems += [(name, problem) for problem in page.evaluate(LOOKS_BROKEN)]
        if page.locator("a.undo-button, #undo-event").count():
            problems.append((name, "offers Undo"))
        if response is None or response.status >= 400:
            problems.append((name, f"HTTP {response.status if response else '?'}"))
    assert problems == [], "\n".join(map(str, problems))
