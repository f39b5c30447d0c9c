"""Phone-sized layout, keyboard-only use, and the voice controls."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from app.backends.scripted import EchoBackend
from tests.browser.browser_harness import ChatPage, Servers

pytestmark = pytest.mark.browser

NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"


def test_a_phone_screen_has_no_horizontal_scroll(browser: Browser, servers: Servers) -> None:
    server = servers.start(EchoBackend())
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        chat = ChatPage(page, server.url).open()
        long_word = "supercalifragilistic" * 6
        chat.say(f"My dog is called Pepper, {long_word}, see https://example.org/{'x' * 80}")
        chat.say("What is my dog called?")
        chat.replies.last.locator("summary").click()
        assert page.evaluate(NO_SIDEWAYS_SCROLL)
        for tool in ("New conversation", "Conversations", "Memories"):
            expect(page.get_by_role("button", name=tool)).to_be_in_viewport()

        page.get_by_role("button", name="Memories").click()
        view = page.get_by_role("dialog", name="What she remembers")
        # What they said (her echoed replies quote it and are remembered too).
        said = view.locator(".memory").filter(has=page.locator(".kind", has_text="something you said"))
        expect(said.filter(has_text=long_word)).to_have_count(1)
        box = view.bounding_box()
        assert box is not None and box["width"] <= 360
        assert page.evaluate(NO_SIDEWAYS_SCROLL)
    finally:
        context.close()


def test_keyboard_only(page: Page, servers: Servers) -> None:
    chat = ChatPage(page, servers.start(EchoBackend()).url).open()
    expect(chat.input).to_be_focused()  # ready to type on arrival
    page.keyboard.type("Typed without a mouse")
    page.keyboard.press("Enter")
    expect(chat.replies.last).to_contain_text("Typed without a mouse")
    expect(chat.replies.last).not_to_have_class(re.compile("msg--streaming"))

    # Tab reaches the header's tools; Enter opens the memory view, Escape closes it.
    memories = page.get_by_role("button", name="Memories")
    for _ in range(12):
        page.keyboard.press("Tab")
        if memories.evaluate("b => b === document.activeElement"):
            break
    expect(memories).to_be_focused()
    page.keyboard.press("Enter")
    view = page.get_by_role("dialog", name="What she remembers")
    expect(view).to_be_visible()
    expect(view.get_by_label("Search her memories")).to_be_focused()
    page.keyboard.press("Escape")
    expect(view).to_be_hidden()


def test_voice_controls_show_only_when_the_server_has_a_voice_and_ears(
    browser: Browser, servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = servers.start(EchoBackend())
    # Her voice and ears are on the server (app/voice/): the controls show, and read-aloud is remembered.
    context = browser.new_context()
    try:
        page = context.new_page()
        ChatPage(page, server.url).open()
        read_aloud = page.get_by_role("button", name="Read aloud")
        expect(read_aloud).to_have_attribute("aria-pressed", "false")
        expect(page.get_by_role("button", name="Hold to talk")).to_be_visible()
        expect(page.get_by_role("button", name="Call")).to_be_visible()
        read_aloud.click()
        expect(read_aloud).to_have_attribute("aria-pressed", "true")
        page.reload()
        expect(read_aloud).to_have_attribute("aria-pressed", "true")
    finally:
        context.close()
    servers.stop(server)

    # A server started with --voice off --listen off shows none of them.
    monkeypatch.setenv("SAMANTHA_VOICE", "off")
    monkeypatch.setenv("SAMANTHA_LISTEN", "off")
    server = servers.start(EchoBackend())
    context = browser.new_context()
    try:
        page = context.new_page()
        ChatPage(page, server.url).open()
        page.wait_for_load_state("networkidle")
        expect(page.locator("#voice-toggle")).to_be_hidden()
        expect(page.locator("#mic")).to_be_hidden()
        expect(page.locator("#call")).to_be_hidden()
    finally:
        context.close()
