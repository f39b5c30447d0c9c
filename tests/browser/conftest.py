"""Fixtures for the browser tests: one Chromium and one embedder per session, fresh servers per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from memory.embedder import Embedder, load_embedder
from tests.browser.browser_harness import CHROMIUM, CHROMIUM_ARGS, ServerLoop, Servers

# Generous: the machine is small and shared, and every wait ends as soon as its condition holds.
TIMEOUT_MS = 20_000


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real MiniLM, loaded once per session (a few seconds)."""
    return load_embedder()


@pytest.fixture(scope="session")
def server_loop() -> Iterator[ServerLoop]:
    """The event loop the test servers run on, beside Playwright's own thread."""
    loop = ServerLoop()
    yield loop
    loop.close()


@pytest.fixture
def servers(server_loop: ServerLoop, embedder: Embedder, tmp_path: Path) -> Iterator[Servers]:
    """Real servers over a temporary data directory (no film reviews: faster); stopped after the test."""
    started = Servers(server_loop, embedder, tmp_path / "data")
    yield started
    started.close()


# Playwright's sync API keeps an event loop of its own while it runs, which would break the async tests
# collected after these; so Chromium lives per module (about a second to start), not per session.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium")
    with sync_playwright() as p:
        expect.set_options(timeout=TIMEOUT_MS)
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh profile per test (its own localStorage), desktop-sized."""
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A page that fails its test on any script error, console error or alert (an XSS would alert)."""
    page = context.new_page()
    problems: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        problems.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and "WebSocket" not in message.text:
            problems.append(f"console error: {message.text}")

    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("dialog", on_dialog)
    page.on("console", on_console)
    yield page
    assert not problems, problems
