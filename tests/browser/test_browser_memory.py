"""What she recalled under each reply, the memory view, forgetting, and the export."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Locator, Page, expect

from app.backends.scripted import EchoBackend
from tests.browser.browser_harness import ChatPage, Servers

pytestmark = pytest.mark.browser

TOLD = "My sister Mira plays the cello in Lisbon"


def yours(memories: Locator) -> Locator:
    """Those of the memories that the person said (her replies, remembered too, quote them here)."""
    return memories.filter(has=memories.page.locator(".kind", has_text=re.compile(r"^something you said$")))


def recalled_part(reply_text: str) -> str:
    """What the echo backend says reached the model from memory."""
    return reply_text.split("I recall:", 1)[1]


def test_recall_forget_and_export(page: Page, servers: Servers) -> None:
    chat = ChatPage(page, servers.start(EchoBackend()).url).open()
    first = chat.say(TOLD)
    expect(first.locator(".recalled")).to_have_text("She didn't recall anything for this.")

    # The next turn recalls what was told, and the panel says what, of which kind, and why.
    reply = chat.say("Where does my sister live?")
    assert "Lisbon" in recalled_part(reply.inner_text())
    panel = reply.locator("details.recalled")
    expect(panel).not_to_have_attribute("open", "")  # collapsed by default
    expect(panel.locator("summary")).to_contain_text("What she recalled")
    panel.locator("summary").click()
    memory = yours(panel.locator(".recall").filter(has_text="Lisbon"))
    expect(memory).to_be_visible()
    expect(memory.locator(".recall-text")).to_have_text(TOLD)
    expect(memory.locator(".kind")).to_have_text("something you said")
    expect(memory.locator(".recall-score")).to_have_text(re.compile(r"score 0\.\d\d"))
    expect(memory.locator(".why-label")).to_have_text(
        ["meaning", "shared words", "said beside a match", "recency", "importance"]
    )

    # The memory view lists and searches it.
    page.get_by_role("button", name="Memories").click()
    view = page.get_by_role("dialog", name="What she remembers")
    expect(yours(view.locator(".memory").filter(has_text="Lisbon"))).to_have_count(1)
    # Her echoed reply is remembered too, and reads as hers.
    expect(view.locator(".memory").filter(has_text="You said:").first.locator(".kind")).to_have_text(
        "something she said"
    )
    view.get_by_label("Search her memories").fill("cello")
    expect(yours(view.locator(".memory"))).to_have_count(1)
    expect(yours(view.locator(".memory")).locator(".memory-text")).to_have_text(TOLD)
    view.get_by_label("Search her memories").fill("trumpet")
    expect(view.locator("#memory-status")).to_contain_text("Nothing matches")
    view.get_by_label("Search her memories").fill("")
    expect(yours(view.locator(".memory").filter(has_text="Where does my sister live?"))).to_have_count(1)

    # The export holds it too (a download of JSON).
    with page.expect_download() as download:
        view.get_by_role("link", name=re.compile("Export")).click()
    exported = json.loads(download.value.path().read_text(encoding="utf-8"))
    assert any("Lisbon" in m["text"] for m in exported["memories"])

    # Forget it (a second press confirms): gone from the view at once, and the page says so.
    forget = yours(view.locator(".memory").filter(has_text="Lisbon")).get_by_role("button")
    forget.click()
    expect(forget).to_have_text("Press again to forget")
    forget.click()
    expect(view.locator(".memory").filter(has_text="Lisbon")).to_have_count(0)
    expect(view.locator("#memory-status")).to_contain_text("Forgotten")
    expect(memory).to_have_class(re.compile("recall--forgotten"))  # marked where it was recalled
    expect(page.locator(".msg--you.msg--forgotten")).to_have_text(re.compile(TOLD))  # and where it was said
    view.get_by_role("button", name="Close").click()
    expect(view).to_be_hidden()

    # The next turn cannot recall it, and reopening the view does not bring it back.
    reply = chat.say("Where does my sister live?")
    assert "Lisbon" not in recalled_part(reply.inner_text())
    expect(reply.locator(".recall").filter(has_text="Lisbon")).to_have_count(0)
    page.get_by_role("button", name="Memories").click()
    expect(view.locator(".memory")).not_to_have_count(0)
    expect(view.locator(".memory").filter(has_text="Lisbon")).to_have_count(0)


def test_forget_from_the_recalled_panel(page: Page, servers: Servers) -> None:
    chat = ChatPage(page, servers.start(EchoBackend()).url).open()
    chat.say("My favourite film is Her")
    reply = chat.say("Which film do I love?")
    reply.locator("summary").click()
    memory = yours(reply.locator(".recall").filter(has_text="favourite film"))
    memory.get_by_role("button", name="Forget this").click()
    memory.get_by_role("button").click()
    expect(memory).to_contain_text("Forgotten. She won't recall it again.")
    reply = chat.say("Which film do I love?")
    assert "favourite film" not in recalled_part(reply.inner_text())


def test_the_pages_endpoints_are_in_the_openapi_schema(page: Page, servers: Servers) -> None:
    server = servers.start(EchoBackend())
    paths = page.request.get(f"{server.url}/openapi.json").json()["paths"]
    for path, method in [
        ("/api/persona", "get"),
        ("/api/conversations", "get"),
        ("/api/conversations/{conversation}/turns", "get"),
        ("/api/memories", "get"),
        ("/api/memories/{memory_id}", "delete"),
        ("/api/export", "get"),
    ]:
        assert method in paths.get(path, {}), f"{method.upper()} {path} is not documented"
