"""The runs browser and configuration history in the console: read-only, scoped to
the member's tenant, filterable, searchable, exportable as streamed CSV and JSON."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.admin.templatetags.admin_list import result_headers
from django.http import StreamingHttpResponse
from django.utils import timezone

from apps.audit.models import AuditEvent, AuditKind
from apps.audit.services import audit_record
from apps.core.actor import Actor
from apps.runs.models import Run
from tests.conftest import Persona
from tests.console.runs_helpers import console, make_run, step
from tests.runs.helpers import DENY, add_function, allow

pytestmark = pytest.mark.django_db

LIST = "/admin/runs/run/"
EVERY_SOURCE = {"source__exact": "all"}
EVENTS = "/admin/audit/auditevent/"


def listed(response: Any) -> set[str]:
    """The run ids on a list page (each appears in its detail link)."""
    assert response.status_code == 200, response.content[:300]
    runs = response.context["cl"].result_list
    return {run.id for run in runs}


@pytest.fixture
def acme_runs(alice: Persona) -> dict[str, Run]:
    tenant = alice.tenant
    check = add_function(tenant, "email-domain-check", DENY)
    enrich = add_function(tenant, "enrich", allow("enrich"))
    login_fn = add_function(tenant, "login-guard", allow("guard"), trigger="PRE_AUTHENTICATION")
    now = timezone.now()
    return {
        "denied": make_run(
            tenant,
            email="mallory@evil.test",
            user_id="u_mallory",
            decision="deny",
            status="denied",
            error_code="domain_not_allowed",
            steps=[
                step(
                    check,
                    status="denied",
                    logs=[{"level": "info", "message": "checking", "t_ms": 0.1}],
                )
            ],
            created_at=now - timedelta(minutes=5),
        ),
        "allowed": make_run(
            tenant,
            email="ann@example.com",
            user_id="u_ann",
            steps=[step(check), step(enrich)],
            created_at=now - timedelta(minutes=10),
        ),
        "login": make_run(
            tenant,
            email="ann@example.com",
            user_id="u_ann",
            trigger="PRE_AUTHENTICATION",
            steps=[step(login_fn)],
            created_at=now - timedelta(days=3),
        ),
        "test": make_run(
            tenant,
            email="dev@example.com",
            user_id="u_dev",
            source="test",
            status="error",
            decision="deny",
            error_code="function_error",
            steps=[
                step(
                    enrich,
                    status="error",
                    error={
                        "name": "TypeError",
                        "message": "boom",
                        "line": 3,
                        "column": 7,
                        "stack": "TypeError: boom\n    at pipe (function.js:3:7)",
                    },
                )
            ],
            created_at=now - timedelta(days=40),
        ),
    }


@pytest.fixture
def globex_run(charlie: Persona) -> Run:
    return make_run(charlie.tenant, email="carl@globex.test", user_id="u_carl")


# --- The list ---------------------------------------------------------------------------


def test_the_list_shows_the_tenants_runs_newest_first(
    alice: Persona, acme_runs: dict[str, Run], globex_run: Run
) -> None:
    response = console(alice).get(LIST, EVERY_SOURCE)
    ids = [run.id for run in response.context["cl"].result_list]
    assert ids == [acme_runs[k].id for k in ("denied", "allowed", "login", "test")]
    content = response.content.decode()
    assert "domain_not_allowed" in content
    assert "email-domain-check, enrich" in content
    assert 'class="badge badge-deny"' in content
    assert globex_run.id not in content


def test_the_list_names_its_columns_and_lets_long_values_wrap_at_their_seams(
    alice: Persona, acme_runs: dict[str, Run]
) -> None:
    response = console(alice).get(LIST)
    headers = [str(header["text"]) for header in result_headers(response.context["cl"])]
    assert headers == ["time", "trigger", "decision", "duration", "functions", "user", "source"]
    content = response.content.decode()
    assert "PRE_<wbr>REGISTER" in content and "ann<wbr>@example.com" in content


def test_the_list_shows_production_runs_unless_asked_and_a_search_looks_everywhere(
    alice: Persona, acme_runs: dict[str, Run]
) -> None:
    client = console(alice)
    default = client.get(LIST)
    assert listed(default) == {acme_runs[k].id for k in ("denied", "allowed", "login")}
    assert "All (with tests and replays)" in default.content.decode()
    assert listed(client.get(LIST, {"q": "dev@example.com"})) == {acme_runs["test"].id}
    assert listed(client.get(LIST, {"source__exact": "api", "q": "dev@example.com"})) == set()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("trigger=PRE_AUTHENTICATION", {"login"}),
        ("decision__exact=deny", {"denied"}),
        ("decision__exact=deny&source__exact=all", {"denied", "test"}),
        ("status__exact=error&source__exact=all", {"test"}),
        ("source__exact=test", {"test"}),
        ("since=24h", {"denied", "allowed"}),
        ("since=7d&decision__exact=allow", {"allowed", "login"}),
    ],
)
def test_filters_return_the_right_runs(
    alice: Persona, acme_runs: dict[str, Run], query: str, expected: set[str]
) -> None:
    assert listed(console(alice).get(f"{LIST}?{query}")) == {acme_runs[k].id for k in expected}


def test_the_default_list_shows_production_runs_and_the_source_filter_adds_the_others(
    alice: Persona, acme_runs: dict[str, Run]
) -> None:
    client = console(alice)
    default = client.get(LIST)
    assert acme_runs["test"].id not in listed(default)
    content = default.content.decode()
    assert "Production (API)" in content and "All (with tests and replays)" in content
    assert listed(client.get(LIST, EVERY_SOURCE)) == {run.id for run in acme_runs.values()}
    assert client.get(LIST, {"source__exact": "cli"})["Location"].endswith("?e=1")


def test_the_function_filter_finds_every_run_that_went_through_it(
    alice: Persona, acme_runs: dict[str, Run]
) -> None:
    enrich_id = acme_runs["allowed"].function_ids.split()[1]
    assert listed(console(alice).get(f"{LIST}?function={enrich_id}&source__exact=all")) == {
        acme_runs["allowed"].id,
        acme_runs["test"].id,
    }


def test_the_date_range_takes_days_with_an_inclusive_end(
    alice: Persona, acme_runs: dict[str, Run]
) -> None:
    day = timezone.localtime(acme_runs["login"].created_at).date().isoformat()
    assert listed(console(alice).get(f"{LIST}?since={day}&until={day}")) == {acme_runs["login"].id}


def test_a_malformed_date_falls_back_to_the_admins_error_page(
    alice: Persona, acme_runs: dict[str, Run]
) -> None:
    response = console(alice).get(f"{LIST}?since=yesterday-ish")
    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("mallory@evil.test", {"denied"}),
        ("MALLORY@evil.test", {"denied"}),
        ("u_ann", {"allowed", "login"}),
        ("  u_dev ", {"test"}),
        ("nobody@example.com", set()),
    ],
)
def test_search_finds_runs_by_email_or_user_id(
    alice: Persona, acme_runs: dict[str, Run], term: str, expected: set[str]
) -> None:
    response = console(alice).get(LIST, {"q": term, **EVERY_SOURCE})
    assert listed(response) == {acme_runs[k].id for k in expected}


def test_search_finds_a_run_by_its_id(alice: Persona, acme_runs: dict[str, Run]) -> None:
    run = acme_runs["login"]
    assert listed(console(alice).get(LIST, {"q": run.id})) == {run.id}


def test_the_list_never_counts_the_whole_table(
    alice: Persona, acme_runs: dict[str, Run], monkeypatch: Any
) -> None:
    from apps.console.admin_runs import CappedCountPaginator, RunAdmin

    paginator = CappedCountPaginator(Run.objects.order_by("-created_at"), 2)
    paginator.cap = 3
    assert paginator.count == 4 and paginator.capped
    monkeypatch.setattr(RunAdmin, "list_per_page", 1)
    monkeypatch.setattr(CappedCountPaginator, "PAGES_AHEAD", 1)
    first = console(alice).get(LIST, EVERY_SOURCE)
    assert b"More than 2 runs" in first.content
    assert first.context["cl"].full_result_count is None
    # The cap slides with the page: page 3 knows there are more than 4.
    third = console(alice).get(LIST, {"p": "3", **EVERY_SOURCE})
    assert listed(third) == {acme_runs["login"].id}
    assert third.context["cl"].paginator.count == 4


def test_bob_the_viewer_reads_the_runs(bob: Persona, acme_runs: dict[str, Run]) -> None:
    assert len(listed(console(bob).get(LIST, EVERY_SOURCE))) == 4


def test_charlie_sees_none_of_acmes_runs(
    charlie: Persona, acme_runs: dict[str, Run], globex_run: Run
) -> None:
    client = console(charlie)
    assert listed(client.get(LIST)) == {globex_run.id}
    assert listed(client.get(LIST, {"q": "mallory@evil.test"})) == set()
    assert client.get(f"{LIST}{acme_runs['denied'].id}/change/").status_code == 404


# --- Read-only for everyone -------------------------------------------------------------


@pytest.fixture
def root(django_user_model: Any, acme: Any) -> Persona:
    user = django_user_model.objects.create_superuser(
        username="root", password="x", email="r@x.test"
    )
    return Persona(user=user, tenant=acme, key="")


@pytest.mark.parametrize("who", ["alice", "bob", "root"])
def test_nobody_can_add_change_or_delete_a_run(
    who: str, request: Any, acme_runs: dict[str, Run]
) -> None:
    client = console(request.getfixturevalue(who))
    run = acme_runs["denied"]
    change = client.post(f"{LIST}{run.id}/change/", {"decision": "allow", "error_code": ""})
    delete = client.post(f"{LIST}{run.id}/delete/", {"post": "yes"})
    add = client.post(f"{LIST}add/", {"trigger": "PRE_REGISTER"})
    bulk = client.post(
        LIST, {"action": "delete_selected", "_selected_action": [run.id], "post": "yes"}
    )
    assert (change.status_code, delete.status_code, add.status_code) == (403, 403, 403)
    assert bulk.status_code in (200, 302)
    run.refresh_from_db()
    assert (run.decision, run.error_code) == ("deny", "domain_not_allowed")
    assert Run.objects.count() == 4


def test_the_list_offers_no_actions_and_no_add_button(
    alice: Persona, acme_runs: dict[str, Run]
) -> None:
    response = console(alice).get(LIST)
    assert response.context["action_form"] is None
    assert b"delete_selected" not in response.content
    assert f"{LIST}add/".encode() not in response.content


# --- The detail page --------------------------------------------------------------------


def test_the_detail_page_tells_the_whole_story(alice: Persona, acme_runs: dict[str, Run]) -> None:
    run = acme_runs["test"]
    Run.objects.filter(pk=run.pk).update(
        idempotency_key="idem-42",
        output={
            "user": {"id": "u_dev", "email": "dev@example.com", "plan": "pro"},
            "context": {},
            "custom_data": {"plan": "pro"},
            "id_token_claims": {"set": {"https://acme/roles": ["admin"]}, "remove": ["nickname"]},
            "access_token_claims": {"set": {}, "remove": []},
        },
    )
    response = console(alice).get(f"{LIST}{run.id}/change/")
    assert response.status_code == 200
    content = response.content.decode()
    for expected in (
        "TypeError",
        "boom",
        "(line 3, column 7)",
        "at pipe (function.js:3:7)",
        "function_error",
        "idem-42",
        "key:gp_test",
        "https://acme/roles",
        "nickname",
        "Replay in test panel",
        f"?replay={run.id}",
    ):
        assert expected in content, expected
    changes = {(c.path, c.kind) for c in response.context["user_changes"]}
    assert changes == {("plan", "added")}
    assert {(c.path, c.kind) for c in response.context["context_changes"]} == {("ip", "removed")}


def test_the_detail_page_shows_each_steps_console_output(
    alice: Persona, acme_runs: dict[str, Run]
) -> None:
    response = console(alice).get(f"{LIST}{acme_runs['denied'].id}/change/")
    content = response.content.decode()
    assert "email-domain-check" in content and "checking" in content
    assert response.context["replay_function"] == "email-domain-check"


def test_viewers_get_no_replay_link(bob: Persona, acme_runs: dict[str, Run]) -> None:
    response = console(bob).get(f"{LIST}{acme_runs['denied'].id}/change/")
    assert response.status_code == 200
    assert "Replay in test panel" not in response.content.decode()


def test_an_unknown_run_is_a_404(alice: Persona) -> None:
    assert console(alice).get(f"{LIST}run_nope/change/").status_code == 404


# --- Export -----------------------------------------------------------------------------


def _body(response: Any) -> str:
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content).decode()


def test_the_csv_export_streams_the_filtered_runs(
    alice: Persona, acme_runs: dict[str, Run], globex_run: Run
) -> None:
    response = console(alice).get(f"{LIST}export.csv", {"decision__exact": "deny", **EVERY_SOURCE})
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(_body(response))))
    assert [row["run_id"] for row in rows] == [acme_runs["denied"].id, acme_runs["test"].id]
    assert rows[0]["error_code"] == "domain_not_allowed"
    assert rows[0]["user_email"] == "mallory@evil.test"
    assert rows[0]["functions"] == "email-domain-check"


def test_the_json_export_streams_whole_run_records(
    alice: Persona, acme_runs: dict[str, Run]
) -> None:
    response = console(alice).get(f"{LIST}export.json", {"q": "u_ann"})
    assert response["Content-Type"] == "application/json"
    records = json.loads(_body(response))
    assert [r["run_id"] for r in records] == [acme_runs["allowed"].id, acme_runs["login"].id]
    assert records[0]["input"]["user"]["email"] == "ann@example.com"
    assert [s["name"] for s in records[0]["steps"]] == ["email-domain-check", "enrich"]


def test_the_csv_export_defuses_spreadsheet_formulas(alice: Persona) -> None:
    make_run(alice.tenant, email='=HYPERLINK("http://x")', user_id="u_f")
    rows = list(csv.DictReader(io.StringIO(_body(console(alice).get(f"{LIST}export.csv")))))
    assert rows[0]["user_email"].startswith("'=")


def test_the_list_links_to_exports_with_the_current_filters(
    alice: Persona, acme_runs: dict[str, Run]
) -> None:
    content = console(alice).get(LIST, {"decision__exact": "deny", "q": "u_ann"}).content.decode()
    assert 'href="/admin/runs/run/export.csv?decision__exact=deny&amp;q=u_ann"' in content
    assert 'href="/admin/runs/run/export.json?decision__exact=deny&amp;q=u_ann"' in content


def test_charlie_exports_none_of_acmes_runs(
    charlie: Persona, acme_runs: dict[str, Run], globex_run: Run
) -> None:
    client = console(charlie)
    csv_rows = list(csv.DictReader(io.StringIO(_body(client.get(f"{LIST}export.csv")))))
    assert [row["run_id"] for row in csv_rows] == [globex_run.id]
    records = json.loads(_body(client.get(f"{LIST}export.json", {"q": "u_ann"})))
    assert records == []


def test_an_anonymous_visitor_cannot_export(acme_runs: dict[str, Run]) -> None:
    from django.test import Client

    response = Client().get(f"{LIST}export.json")
    assert response.status_code == 302 and "/login/" in response["Location"]


# --- Configuration history --------------------------------------------------------------


@pytest.fixture
def acme_events(alice: Persona, acme_runs: dict[str, Run]) -> dict[str, AuditEvent]:
    fn_id = acme_runs["denied"].function_ids.split()[0]
    actor = Actor.for_user(alice.user)
    return {
        "published": audit_record(
            tenant=alice.tenant,
            actor=actor,
            kind=AuditKind.FUNCTION_PUBLISHED,
            object_type="function",
            object_id=fn_id,
            details={"version": 2, "comment": "stricter"},
        ),
        "env": audit_record(
            tenant=alice.tenant,
            actor=Actor.system(),
            kind=AuditKind.ENV_SET,
            object_type="env",
            object_id="API_URL",
            details={"name": "API_URL"},
        ),
    }


def test_the_history_lists_who_changed_what(
    alice: Persona, acme_events: dict[str, AuditEvent]
) -> None:
    response = console(alice).get(EVENTS)
    assert response.status_code == 200
    ids = {event.id for event in response.context["cl"].result_list}
    assert {e.id for e in acme_events.values()} <= ids
    # JSON, not Python's repr, with the function named and linked.
    page = response.content.decode()
    assert "{&quot;comment&quot;: &quot;stricter&quot;, &quot;version&quot;: 2}" in page
    assert "email-domain-check</a>" in page


def test_a_functions_history_link_lists_only_its_events(
    alice: Persona, acme_events: dict[str, AuditEvent]
) -> None:
    fn_id = acme_events["published"].object_id
    response = console(alice).get(EVENTS, {"object_id": fn_id})
    assert {e.id for e in response.context["cl"].result_list} == {acme_events["published"].id}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"kind__exact": "env.set"}, {"env"}),
        ({"object_type": "env"}, {"env"}),
        ({"actor": "alice"}, {"published"}),
    ],
)
def test_history_filters_by_kind_type_and_actor(
    alice: Persona, acme_events: dict[str, AuditEvent], query: dict[str, str], expected: set[str]
) -> None:
    response = console(alice).get(EVENTS, query)
    ids = {e.id for e in response.context["cl"].result_list}
    assert ids == {acme_events[k].id for k in expected}


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_an_event_opens_read_only_and_cannot_be_changed(
    who: str, request: Any, acme_events: dict[str, AuditEvent]
) -> None:
    client = console(request.getfixturevalue(who))
    event = acme_events["published"]
    page = client.get(f"{EVENTS}{event.id}/change/")
    assert page.status_code == 200 and b"stricter" in page.content
    assert client.post(f"{EVENTS}{event.id}/change/", {"actor": "x"}).status_code == 403
    assert client.post(f"{EVENTS}{event.id}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk, actor=event.actor).exists()


def test_charlie_sees_none_of_acmes_events(
    charlie: Persona, acme_events: dict[str, AuditEvent]
) -> None:
    client = console(charlie)
    response = client.get(EVENTS)
    ids = {e.id for e in response.context["cl"].result_list}
    assert not ids & {e.id for e in acme_events.values()}
    assert b"stricter" not in response.content
    detail = client.get(f"{EVENTS}{acme_events['published'].id}/change/")
    assert detail.status_code == 302 and b"stricter" not in detail.content


def test_a_functions_editor_page_links_to_its_history_and_runs(
    alice: Persona, acme_events: dict[str, AuditEvent]
) -> None:
    fn_id = acme_events["published"].object_id
    content = console(alice).get(f"/admin/functions/{fn_id}/").content.decode()
    assert f'href="{EVENTS}?object_id={fn_id}"' in content
    assert f'href="{LIST}?function={fn_id}"' in content
