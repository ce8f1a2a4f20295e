"""Browser fixtures: the system Chromium driven by Playwright against pytest-django's live server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from playwright.sync_api import sync_playwright

from scoring.lifecycle import versions
from tests.support import DEFAULT_BUNDLE
from tests.support.accessibility import axe_findings, from_axe_itself, install_axe, settle
from tests.support.shared_loads import bundle_loads_shared

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"
WIDE = {"width": 1280, "height": 900}
NARROW = {"width": 360, "height": 780}


@pytest.fixture(scope="session")
def browser():
    # Playwright's sync API keeps an asyncio loop running in this thread for the whole session;
    # the ORM calls made here (test database set-up, assertions) are still plain synchronous code.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser, monkeypatch):
    """A fresh browser tab checked by axe; an axe finding, a console error or an uncaught exception fails the test."""
    # Live-server request threads must not keep PostgreSQL sessions open after the test
    # (persistent connections would stop pytest-django from dropping the test database).
    monkeypatch.setitem(settings.DATABASES["default"], "CONN_MAX_AGE", 0)
    context = browser.new_context(viewport=WIDE)
    install_axe(context)  # each page's serious findings are console errors, collected below
    tab = context.new_page()
    problems: list[str] = []
    tab.on(
        "console",
        lambda msg: (
            problems.append(f"console {msg.type}: {msg.text}")
            if msg.type == "error" and not from_axe_itself(msg)
            else None
        ),
    )
    tab.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    tab.set_default_timeout(15_000)
    yield tab
    settle(tab)
    if tab.url.startswith("http"):
        # The page the test ended on, whose check may still be running.
        problems.extend(f for f in axe_findings(tab) if f"console error: {f}" not in problems)
    context.close()
    assert problems == [], problems


@pytest.fixture(scope="module", autouse=True)
def _close_connections_after_the_module(django_db_setup, django_db_blocker):
    yield
    with django_db_blocker.unblock():
        connections.close_all()


@pytest.fixture
def live_active_version(transactional_db):
    """The committed bundle, active, in a database the live server thread can see."""
    with bundle_loads_shared():
        version = versions.register_bundle(path=DEFAULT_BUNDLE)
    versions.activate(version=version, user=None)
    return version


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/ (git-ignored) for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
