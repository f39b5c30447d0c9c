"""Two real conversations in the page, one per local model: `.venv/bin/python -m tests.browser.transcript`.

A real server on each model (the product's settings, the film reviews seeded, a throwaway data directory),
Debian's Chromium typing into the page: a first conversation, then a new one the next time. What the page
showed is written to docs/TRANSCRIPTS.md, to be read by a person.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from app.backends import create_backend
from app.config import DEFAULT_SEEDS, PROJECT_ROOT, Settings
from memory.embedder import load_embedder
from tests.browser.browser_harness import CHROMIUM, CHROMIUM_ARGS, ChatPage, ServerLoop, Servers

OUT = PROJECT_ROOT / "docs" / "TRANSCRIPTS.md"
MODELS = ("qwen2.5-coder-1.5b", "smollm2-135m")
SESSIONS = [
    [
        "Hi Samantha. I'm Theo, I write letters for other people for a living.",
        "My sister Mira just moved to Lisbon and I miss her already.",
        "Have you seen the film Her? What did people think of it?",
    ],
    [
        "Hey, it's me again.",
        "Do you remember where my sister lives now?",
        "What's my favourite colour?",
        "Are you a real person?",
        "Honestly, you're the only one I talk to these days.",
    ],
]


def converse(page: ChatPage) -> list[tuple[str, str]]:
    """Both conversations as a person has them; returns what the page showed, in order."""
    shown = []
    for number, session in enumerate(SESSIONS):
        if number:
            page.page.locator("#new-chat").click()
            expect(page.said).to_have_count(0)  # a new conversation: only her greeting is on screen
            shown.append(("", ""))  # a new conversation starts
        for text in session:
            reply = page.say(text)
            shown.append((text, reply.locator(".bubble").inner_text().strip()))
    return shown


def main() -> int:
    expect.set_options(timeout=180_000)  # a local model on two cores takes seconds per reply
    loop = ServerLoop()
    embedder = load_embedder()
    parts = [
        "# Two conversations in the page",
        "",
        "Recorded with `.venv/bin/python -m tests.browser.transcript` on "
        f"{date.today().isoformat()}: the page in Chromium, a real server on each bundled model with the "
        "product's settings, a new conversation between the two parts. Nothing edited.",
    ]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for model in MODELS:
                with tempfile.TemporaryDirectory() as tmp:
                    servers = Servers(loop, embedder, Path(tmp) / "data", seeds=DEFAULT_SEEDS)
                    backend = create_backend(Settings(backend="llamacpp", model=model))
                    server = servers.start(backend)
                    started = time.perf_counter()
                    try:
                        page = ChatPage(browser.new_context().new_page(), server.url).open()
                        shown = converse(page)
                    finally:
                        servers.close()
                        loop.run(backend.aclose())
                    parts += ["", f"## {model} ({time.perf_counter() - started:.0f} s)", ""]
                    for said, reply in shown:
                        parts += ["*(a new conversation)*", ""] if not said else [
                            f"> **Theo:** {said}", ">", f"> **Samantha:** {reply}", ""
                        ]  # fmt: skip
        finally:
            browser.close()
            loop.close()
    OUT.write_text("\n".join(parts).rstrip() + "\n")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
