"""Playwright (Python) driving Debian's Chromium against pytest-django's live server.

`playwright install` is never needed: the browser is /usr/bin/chromium (CI installs
it with apt). Every page records the URLs it requests, and each test fails if one of
them left the live server.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Playwright's sync API runs an event loop in the test thread; Django's ORM calls in
# the same thread are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
MONACO_BUNDLE = Path(__file__).resolve().parents[2] / "static" / "vendor" / "monaco" / "monaco.js"
PASSWORD = "correct horse 9"  # the personas' password (tests/conftest.py)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not MONACO_BUNDLE.exists():
        pytest.fail("The editor bundle is missing: run `make assets` first.")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def _live_database(transactional_db: None) -> None:
    """The live server runs in another thread: it must see committed data."""


class RecordingPage:
    """A page plus every URL it requested."""

    def __init__(self, page: Any, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.requested: list[str] = []
        self.console_errors: list[str] = []
        self.failed_responses: list[str] = []
        page.on("request", lambda request: self.requested.append(request.url))
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.console_errors.append(str(error)))
        page.on("response", self._on_response)

    def _on_console(self, message: Any) -> None:
        # Failed loads are judged by _on_response, which knows the URL.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.console_errors.append(message.text)

    def _on_response(self, response: Any) -> None:
        # Every page declares its icon, so not even the browser's favicon probe may fail.
        if response.status >= 400:
            self.failed_responses.append(f"{response.status} {response.url}")

    def outside_requests(self) -> list[str]:
        # blob: and data: URLs never leave the browser (Monaco's worker bootstrap).
        return [
            url
            for url in self.requested
            if not url.startswith((self.base_url + "/", "blob:", "data:"))
        ]


@pytest.fixture
def pages(browser: Any, live_server: Any) -> Iterator[Any]:
    """Opens pages in fresh browser contexts (one per persona); checks where they went."""
    opened: list[tuple[Any, RecordingPage]] = []

    def open_page() -> RecordingPage:
        context = browser.new_context(
            viewport={"width": 1440, "height": 960},
            permissions=["clipboard-read", "clipboard-write"],
        )
        context.set_default_timeout(15_000)
        recording = RecordingPage(context.new_page(), live_server.url)
        opened.append((context, recording))
        return recording

    yield open_page
    try:
        for _, recording in opened:
            assert recording.outside_requests() == [], "a page requested a URL outside the server"
    finally:
        for context, _ in opened:
            context.close()


def login(recording: RecordingPage, username: str, next_path: str = "/admin/") -> Any:
    """Logs in through the admin's login form, as a person would."""
    page = recording.page
    page.goto(f"{recording.base_url}/admin/login/?next={next_path}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_load_state("domcontentloaded")
    return page


def screenshot(target: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    target.screenshot(path=str(path))
    return path


PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 960}


def scrolls_sideways(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth > window.innerWidth"))


def screenshot_widths(page: Any, name: str) -> None:
    """Full-page screenshots at 1440 and 390 px (test-artifacts/<name>-<width>.png); the
    page is left at 1440 px."""
    for size in (PHONE, DESKTOP):
        page.set_viewport_size(size)
        page.wait_for_timeout(150)  # let automatic layouts settle
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{name}-{size['width']}.png"), full_page=True)
