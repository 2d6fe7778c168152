"""The runs dashboard (/admin/dashboard/): figures from ``apps.runs.dashboard`` drawn as
server-side SVG, so the page needs no chart library and makes no outside request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from apps.console.admin_site import admin_site
from apps.console.pages import console_page
from apps.runs.dashboard import (
    DEFAULT_WINDOW,
    SAMPLE_SIZE,
    WINDOWS,
    Bucket,
    DashboardStats,
    FunctionTiming,
    dashboard_stats,
)
from apps.runs.selectors import run_sources
from apps.tenants.access import Principal

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 10, 26


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "middle"


@console_page()
def dashboard_page(request: HttpRequest, principal: Principal) -> HttpResponse:
    window = WINDOWS.get(request.GET.get("window", ""), WINDOWS[DEFAULT_WINDOW])
    # Production runs only, unless ?include_tests=1 asks for test and replay runs too.
    include_tests = request.GET.get("include_tests") == "1"
    sources = run_sources(include_tests=include_tests)
    stats = dashboard_stats(tenant=principal.tenant, window=window, sources=sources)
    context: dict[str, Any] = {
        **admin_site.each_context(request),
        "title": "Runs dashboard",
        "stats": stats,
        "windows": WINDOWS.values(),
        "include_tests": include_tests,
        "tests_query": "&include_tests=1" if include_tests else "",
        "sample_limit": SAMPLE_SIZE,
        "runs_chart": runs_chart(stats),
        "rates_chart": rates_chart(stats),
        "timing_chart": timing_chart(stats.timings),
        "codes_chart": codes_chart(stats.deny_codes),
    }
    return render(request, "console/dashboard.html", context)


def _nice_max(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2 or 5 times a power of ten)."""
    if value <= 0:
        return 1
    magnitude = 10 ** (len(str(int(value))) - 1)
    for factor in (1, 2, 5, 10):
        if value <= factor * magnitude:
            return float(factor * magnitude)
    return float(10 * magnitude)


def _bucket_label(bucket: Bucket, unit: str) -> str:
    local = timezone.localtime(bucket.start)
    return local.strftime("%H:00") if unit == "hour" else local.strftime("%m-%d")


def _axis(top: float) -> list[Label]:
    plot = HEIGHT - TOP - BOTTOM
    return [
        Label(LEFT - 6, TOP + plot * (1 - share) + 4, f"{top * share:g}", "end")
        for share in (0, 0.5, 1)
    ]


def runs_chart(stats: DashboardStats) -> dict[str, Any]:
    """Stacked bars per hour/day: allowed, denied and failed runs."""
    buckets, unit = stats.buckets, stats.window.bucket
    top = _nice_max(max((b.total for b in buckets), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(buckets), 1)
    rects: list[Rect] = []
    labels: list[Label] = []
    every = max(len(buckets) // 8, 1)
    for index, bucket in enumerate(buckets):
        x, base = LEFT + index * slot + slot * 0.1, float(HEIGHT - BOTTOM)
        when = _bucket_label(bucket, unit)
        for count, css, word in (
            (bucket.allowed, "fill-allow", "allowed"),
            (bucket.denied, "fill-deny", "denied"),
            (bucket.errors, "fill-error", "failed"),
        ):
            height = plot_h * count / top
            if count:
                rects.append(
                    Rect(x, base - height, slot * 0.8, height, css, f"{when}: {count} {word}")
                )
            base -= height
        if index % every == 0:
            labels.append(Label(x + slot * 0.4, HEIGHT - 8, when))
    return {"rects": rects, "labels": labels + _axis(top), "width": WIDTH, "height": HEIGHT}


def rates_chart(stats: DashboardStats) -> dict[str, Any]:
    """Deny and error rates (% of the bucket's runs) as two lines."""
    buckets = stats.buckets
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(buckets), 1)

    def line(share: Any) -> str:
        points = []
        for index, bucket in enumerate(buckets):
            rate = share(bucket) / bucket.total if bucket.total else 0
            points.append(f"{LEFT + (index + 0.5) * slot:.1f},{TOP + plot_h * (1 - rate):.1f}")
        return " ".join(points)

    axis = [
        Label(LEFT - 6, TOP + plot_h * (1 - share) + 4, f"{share:.0%}", "end")
        for share in (0, 0.5, 1)
    ]
    return {
        "deny": line(lambda b: b.deny_decisions),
        "error": line(lambda b: b.errors),
        "labels": axis,
        "width": WIDTH,
        "height": HEIGHT,
    }


def _horizontal(rows: list[tuple[str, list[tuple[float, str, str]]]], unit: str) -> dict[str, Any]:
    """Horizontal bars: one row per label, one or more bars per row."""
    name_w, row_h = 170, 34
    height = max(len(rows), 1) * row_h + 8
    top = _nice_max(max((value for _, bars in rows for value, _, _ in bars), default=0))
    plot_w = WIDTH - name_w - 70
    rects: list[Rect] = []
    labels: list[Label] = []
    for index, (name, bars) in enumerate(rows):
        y = 4 + index * row_h
        labels.append(Label(name_w - 8, y + row_h / 2 + 2, name[:28], "end"))
        bar_h = (row_h - 10) / len(bars)
        for offset, (value, css, word) in enumerate(bars):
            width = max(plot_w * value / top, 1)
            bar_y = y + 2 + offset * bar_h
            rects.append(
                Rect(name_w, bar_y, width, bar_h - 1, css, f"{name}: {word} {value:g}{unit}")
            )
            labels.append(Label(name_w + width + 4, bar_y + bar_h - 3, f"{value:g}{unit}", "start"))
    return {"rects": rects, "labels": labels, "width": WIDTH, "height": height}


def timing_chart(timings: list[FunctionTiming]) -> dict[str, Any]:
    rows = [
        (t.name, [(round(t.p50_ms, 2), "fill-p50", "p50"), (round(t.p95_ms, 2), "fill-p95", "p95")])
        for t in timings[:12]
    ]
    return _horizontal(rows, " ms")


def codes_chart(codes: list[tuple[str, int]]) -> dict[str, Any]:
    return _horizontal([(code, [(float(n), "fill-deny", "runs")]) for code, n in codes], "")
