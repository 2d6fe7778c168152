"""The runs dashboard: bounded windows, right figures, the member's tenant only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.pipelines.models import Function
from apps.runs.dashboard import WINDOWS, dashboard_stats, percentile
from apps.runs.selectors import ALL_SOURCES
from tests.conftest import Persona
from tests.console.runs_helpers import console, make_run, step
from tests.runs.helpers import DENY, add_function, allow

pytestmark = pytest.mark.django_db

URL = "/admin/dashboard/"


@pytest.fixture
def acme_window(alice: Persona) -> None:
    tenant = alice.tenant
    check = add_function(tenant, "email-domain-check", DENY)
    enrich = add_function(tenant, "enrich", allow("enrich"))
    now = timezone.now()
    for minutes, duration in ((5, 1.0), (65, 2.0), (125, 3.0), (185, 4.0)):
        make_run(
            tenant,
            steps=[step(check, duration_ms=duration), step(enrich, duration_ms=duration * 10)],
            created_at=now - timedelta(minutes=minutes),
        )
    for code in ("domain_not_allowed", "domain_not_allowed", "banned"):
        make_run(
            tenant,
            decision="deny",
            status="denied",
            error_code=code,
            steps=[step(check, status="denied", duration_ms=0.5)],
            created_at=now - timedelta(minutes=30),
        )
    make_run(
        tenant,
        decision="deny",
        status="error",
        error_code="function_error",
        steps=[step(enrich, status="error", duration_ms=9.0)],
        created_at=now - timedelta(hours=2),
    )
    make_run(tenant, created_at=now - timedelta(days=3))  # outside 24 h, inside 7 d


def test_the_figures_cover_exactly_the_window(alice: Persona, acme_window: None) -> None:
    stats = dashboard_stats(tenant=alice.tenant, window=WINDOWS["24h"])
    assert stats.total == 8
    assert (stats.denied, stats.errors) == (4, 1)
    assert stats.deny_rate == pytest.approx(0.5)
    assert stats.error_rate == pytest.approx(0.125)
    assert sum(b.allowed for b in stats.buckets) == 4
    assert sum(b.denied for b in stats.buckets) == 3
    assert stats.deny_codes == [("domain_not_allowed", 2), ("banned", 1), ("function_error", 1)]
    assert dashboard_stats(tenant=alice.tenant, window=WINDOWS["7d"]).total == 9


def test_hour_buckets_cover_the_whole_day(alice: Persona, acme_window: None) -> None:
    stats = dashboard_stats(tenant=alice.tenant, window=WINDOWS["24h"])
    assert len(stats.buckets) in (24, 25)
    starts = [b.start for b in stats.buckets]
    assert starts == sorted(starts)
    assert all(b.start.minute == 0 for b in stats.buckets)


def test_percentiles_per_function_come_from_the_steps(alice: Persona, acme_window: None) -> None:
    stats = dashboard_stats(tenant=alice.tenant, window=WINDOWS["24h"])
    timings = {t.name: t for t in stats.timings}
    check = timings["email-domain-check"]
    assert check.runs == 7
    assert (check.p50_ms, check.p95_ms) == (1.0, 4.0)
    enrich = timings["enrich"]
    assert (enrich.runs, enrich.p50_ms, enrich.p95_ms) == (5, 20.0, 40.0)


def test_percentile_uses_the_nearest_rank() -> None:
    assert percentile([], 50) is None
    assert percentile([5.0], 95) == 5.0
    values = [float(n) for n in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 95)) == (50.0, 95.0)


def test_the_page_draws_the_charts_as_svg(bob: Persona, acme_window: None) -> None:
    response = console(bob).get(URL)
    assert response.status_code == 200
    content = response.content.decode()
    for chart in ("chart-runs", "chart-rates", "chart-timing", "chart-codes"):
        assert f'<svg id="{chart}"' in content
    assert "domain_not_allowed" in content
    assert "50.0 %" in content
    assert "<script" not in content.split('id="content-main"')[1]


def test_the_window_can_be_chosen_and_bad_values_fall_back(
    alice: Persona, acme_window: None
) -> None:
    client = console(alice)
    assert client.get(URL, {"window": "7d"}).context["stats"].total == 9
    assert client.get(URL, {"window": "forever"}).context["stats"].window.key == "24h"


def test_charlie_sees_none_of_acmes_figures(charlie: Persona, acme_window: None) -> None:
    response = console(charlie).get(URL)
    assert response.status_code == 200
    stats = response.context["stats"]
    assert (stats.total, stats.deny_codes, stats.timings) == (0, [], [])
    assert b"domain_not_allowed" not in response.content
    assert b"email-domain-check" not in response.content


def test_anonymous_visitors_are_sent_to_the_login(db: None) -> None:
    from django.test import Client

    response = Client().get(URL)
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.fixture
def slow_test_runs(alice: Persona, acme_window: None) -> None:
    """Editor test and replay runs: slow and denied, as a spinning draft makes them."""
    check = Function.objects.get(tenant=alice.tenant, name="email-domain-check")
    now = timezone.now()
    for source in ("test", "test", "replay"):
        make_run(
            alice.tenant,
            source=source,
            decision="deny",
            status="timeout",
            error_code="function_timeout",
            duration_ms=3003.0,
            steps=[step(check, status="timeout", duration_ms=3000.0)],
            created_at=now - timedelta(minutes=10),
        )


def test_test_and_replay_runs_do_not_move_the_figures(
    alice: Persona, acme_window: None, slow_test_runs: None
) -> None:
    stats = dashboard_stats(tenant=alice.tenant, window=WINDOWS["24h"])
    assert (stats.total, stats.denied, stats.errors) == (8, 4, 1)
    assert stats.deny_rate == pytest.approx(0.5)
    assert stats.run_p95_ms is not None and stats.run_p95_ms < 100
    assert "function_timeout" not in dict(stats.deny_codes)
    timings = {t.name: t for t in stats.timings}
    assert (timings["email-domain-check"].runs, timings["email-domain-check"].p95_ms) == (7, 4.0)
    assert not stats.includes_tests


def test_the_figures_can_include_test_and_replay_runs(
    alice: Persona, acme_window: None, slow_test_runs: None
) -> None:
    stats = dashboard_stats(tenant=alice.tenant, window=WINDOWS["24h"], sources=ALL_SOURCES)
    assert (stats.total, stats.denied, stats.errors) == (11, 7, 4)
    assert stats.run_p95_ms == 3003.0
    assert stats.includes_tests


def test_the_page_counts_production_runs_unless_asked(
    alice: Persona, acme_window: None, slow_test_runs: None
) -> None:
    client = console(alice)
    default = client.get(URL)
    assert default.context["stats"].total == 8
    assert b"include_tests=1" in default.content
    with_tests = client.get(URL, {"include_tests": "1", "window": "7d"})
    assert with_tests.context["stats"].total == 12
    assert b"window=24h&amp;include_tests=1" in with_tests.content
    assert client.get(URL, {"include_tests": "yes"}).context["stats"].total == 8


def test_charlie_sees_none_of_acmes_test_runs(charlie: Persona, slow_test_runs: None) -> None:
    response = console(charlie).get(URL, {"include_tests": "1"})
    assert response.context["stats"].total == 0
