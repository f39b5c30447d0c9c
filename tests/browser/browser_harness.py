"""A real Samantha server on a background event loop, and Debian's Chromium to look at it.

Shared by the browser tests (conftest.py) and the screenshot script (screenshots.py). Playwright's sync
API owns the test thread, so the server lives on an event loop of its own in a daemon thread.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from playwright.sync_api import Locator, Page, expect

from app.backends import Backend
from app.config import Settings
from app.server import RunningServer
from memory.embedder import Embedder

T = TypeVar("T")

CHROMIUM = Path("/usr/bin/chromium")
# Playwright cannot download its own browser offline; these flags keep Debian's Chromium quiet and local.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


class ServerLoop:
    """An asyncio loop in a daemon thread that can start and stop in-process servers."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="samantha-server", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        """Run a coroutine on the server loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(
        self,
        data_dir: Path,
        backend: Backend,
        embedder: Embedder,
        *,
        port: int = 0,
        seeds: Path | None = None,
    ) -> RunningServer:
        """A server with its own data directory; port 0 picks a free port."""
        settings = Settings(backend="echo", data_dir=data_dir, seeds_dir=seeds)
        return self.run(RunningServer.start(settings, backend=backend, embedder=embedder, port=port))

    def stop(self, server: RunningServer) -> None:
        """Stop a server gracefully (its lifespan closes the memory store)."""
        self.run(server.stop())

    def close(self) -> None:
        """Stop the loop and its thread."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)


class Servers:
    """Start and stop real servers on one loop, sharing one embedder and one data directory."""

    def __init__(
        self, loop: ServerLoop, embedder: Embedder, data_dir: Path, seeds: Path | None = None
    ) -> None:
        self.loop = loop
        self.embedder = embedder
        self.data_dir = data_dir
        self.seeds = seeds
        self.running: list[RunningServer] = []

    def start(self, backend: Backend, *, port: int = 0) -> RunningServer:
        """A server on `port` (0: any free one) over the shared data directory."""
        server = self.loop.start(self.data_dir, backend, self.embedder, port=port, seeds=self.seeds)
        self.running.append(server)
        return server

    def stop(self, server: RunningServer) -> None:
        """Stop one server (as a restart or a crash would, minus the crash)."""
        self.running.remove(server)
        self.loop.stop(server)

    def close(self) -> None:
        """Stop every server still running."""
        for server in list(self.running):
            self.stop(server)


class ChatPage:
    """The page as a person uses it: open it, say something, read her reply."""

    def __init__(self, page: Page, url: str) -> None:
        self.page = page
        self.url = url
        self.input = page.get_by_label("Message to Samantha")
        self.status = page.locator("#status")
        self.replies = page.locator(".msg--her")
        self.said = page.locator(".msg--you .bubble")

    def open(self) -> ChatPage:
        """Load the page and wait until it is connected and its conversation is on screen."""
        self.page.goto(self.url)
        self.wait_connected()
        return self

    def wait_connected(self) -> None:
        expect(self.status).to_have_attribute("data-state", "connected")
        expect(self.page.locator("#send")).to_be_enabled()

    def send(self, text: str) -> Locator:
        """Type and press Enter; returns her reply (still streaming)."""
        before = self.replies.count()
        self.input.fill(text)
        self.input.press("Enter")
        expect(self.replies).to_have_count(before + 1)
        return self.replies.nth(before)

    def say(self, text: str) -> Locator:
        """Send and wait for her whole reply."""
        reply = self.send(text)
        expect(reply).not_to_have_class(re.compile(r"msg--streaming"))
        return reply
