"""Take the README's screenshots of the page: `.venv/bin/python -m tests.browser.screenshots`.

A real server (scripted replies, the film reviews seeded, a throwaway data directory) and Debian's
Chromium; writes docs/screenshots/chat.png, memories.png and phone.png.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import expect, sync_playwright

from app.backends.scripted import ScriptedBackend
from app.config import DEFAULT_SEEDS, PROJECT_ROOT
from memory.embedder import load_embedder
from tests.browser.browser_harness import CHROMIUM, CHROMIUM_ARGS, ChatPage, ServerLoop, Servers

OUT = PROJECT_ROOT / "docs" / "screenshots"

CONVERSATION = [
    (
        "Hi Samantha. I'm Theo, I write letters for other people for a living.",
        "Hi Theo! That's a lovely thing to do for a living, finding the words for what other people feel."
        " Do you ever write letters of your own?",
    ),
    (
        "My sister Mira just moved to Lisbon. I miss her already.",
        "Oh, that's a big change, and it makes sense to miss her.\n\nMaybe this is one letter that should"
        " be *yours*. What would you tell her first?",
    ),
    (
        "Have you seen the film Her? What did people think of it?",
        "I know it through the reviews I keep. People were moved by how *tender* it is:\n"
        "- Joaquin Phoenix's quiet, lonely performance\n"
        "- the warm reds and soft light of its near-future Los Angeles\n\n"
        "What made you think of it?",
    ),
    (
        "Do you remember where my sister lives now?",
        "Of course: Mira is in Lisbon. You told me you miss her already.\n\nHave you two talked since she"
        " moved? I'd love to hear how she's settling in.",
    ),
]


def settled_memories(url: str, at_least: int) -> int:
    """Memories are written in the background after each turn: wait until their number stops growing."""
    deadline = time.monotonic() + 30
    seen, stable_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        count = len(httpx.get(f"{url}/api/memories").json())
        if count != seen:
            seen, stable_since = count, time.monotonic()
        elif count >= at_least and time.monotonic() - stable_since > 1:
            return count
        time.sleep(0.2)
    raise TimeoutError("the memories were not stored in time")


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    loop = ServerLoop()
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        servers = Servers(loop, load_embedder(), Path(tmp) / "data", seeds=DEFAULT_SEEDS)
        backend = ScriptedBackend([reply for _, reply in CONVERSATION], delay=0.01)
        server = servers.start(backend)
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1100, "height": 1100}, color_scheme="light")
            page = context.new_page()
            chat = ChatPage(page, server.url).open()
            for said, _ in CONVERSATION:
                chat.say(said)
            chat.replies.last.locator("summary").click()
            page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
            page.mouse.move(0, 0)
            page.screenshot(path=OUT / "chat.png")

            count = settled_memories(server.url, len(CONVERSATION))
            page.get_by_role("button", name="Memories").click()
            expect(page.locator(".memory")).to_have_count(count)
            page.get_by_label("Search her memories").blur()
            page.screenshot(path=OUT / "memories.png")

            conversation = page.evaluate("localStorage.getItem('samantha.conversation')")
            phone = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2)
            phone.add_init_script(f"localStorage.setItem('samantha.conversation', {conversation!r})")
            small = phone.new_page()
            ChatPage(small, server.url).open()
            small.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
            small.screenshot(path=OUT / "phone.png")
        finally:
            browser.close()
            servers.close()
            loop.close()
    print(f"wrote {', '.join(sorted(f.name for f in OUT.glob('*.png')))} to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
