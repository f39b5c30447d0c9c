"""The chat page in real Chromium: streaming, Stop, history across reloads, safe text, errors, reconnects."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from app.backends.scripted import EchoBackend, ScriptedBackend
from tests.browser.browser_harness import ChatPage, Servers

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=alert(1)>"


def test_a_message_gets_a_streamed_reply(page: Page, servers: Servers) -> None:
    chat = ChatPage(page, servers.start(EchoBackend(delay=0.08)).url).open()
    expect(page.locator(".persona")).to_contain_text("Samantha")
    expect(page.locator(".persona-model")).to_contain_text("echo")
    expect(chat.replies.first).to_contain_text("nice to meet you")  # her greeting

    # Shift+Enter is a new line, not a send.
    chat.input.fill("Hello Samantha")
    chat.input.press("Shift+Enter")
    chat.input.press_sequentially("how are you?")
    expect(chat.input).to_have_value("Hello Samantha\nhow are you?")
    expect(chat.said).to_have_count(0)

    chat.input.press("Enter")
    expect(chat.input).to_have_value("")
    expect(chat.said.last).to_have_text("Hello Samantha\nhow are you?")
    # Streamed: part of the reply is on screen while the reply is still coming.
    page.wait_for_function(
        "() => { const m = document.querySelector('.msg--her.msg--streaming .bubble');"
        " return m !== null && m.textContent.startsWith('You said') }"
    )
    expect(page.locator("#stop")).to_be_visible()
    expect(chat.input).to_be_editable()  # typing the next message is fine while she answers
    reply = chat.replies.last
    expect(reply).not_to_have_class(re.compile("msg--streaming"))
    expect(reply.locator(".bubble")).to_contain_text(
        'You said: "Hello Samantha\nhow are you?". I recall: nothing.', use_inner_text=True
    )
    expect(page.locator("#send")).to_be_visible()
    expect(page.locator("#stop")).to_be_hidden()
    expect(page.locator("#announcer")).to_contain_text("Samantha: You said")  # aria-live


def test_stop_ends_a_reply(page: Page, servers: Servers) -> None:
    chat = ChatPage(page, servers.start(EchoBackend(delay=0.15)).url).open()
    long_message = " ".join(f"word{i}" for i in range(40))
    reply = chat.send(long_message)
    expect(reply.locator(".bubble")).to_contain_text("You said")
    page.get_by_role("button", name="Stop her reply").click()

    expect(reply).not_to_have_class(re.compile("msg--streaming"))
    expect(reply.locator(".meta")).to_contain_text("stopped")
    assert "word39" not in reply.locator(".bubble").inner_text()
    expect(page.locator("#send")).to_be_visible()
    expect(chat.input).to_be_focused()
    # The conversation goes on; the partial reply was kept.
    assert "You said" in chat.say("And now?").inner_text()
    page.reload()
    chat.wait_connected()
    expect(page.locator(".msg--her.msg--interrupted")).to_have_count(1)


def test_reload_shows_history_and_old_conversations_reopen(page: Page, servers: Servers) -> None:
    chat = ChatPage(page, servers.start(EchoBackend()).url).open()
    chat.say("I adopted a cat called Biscuit")
    chat.say("She sleeps on my keyboard")

    page.reload()
    chat.wait_connected()
    expect(chat.said).to_have_text(["I adopted a cat called Biscuit", "She sleeps on my keyboard"])
    expect(chat.replies).to_have_count(3)  # greeting and two replies

    page.get_by_role("button", name="New conversation").click()
    chat.wait_connected()
    expect(chat.said).to_have_count(0)
    chat.say("A second conversation")

    page.get_by_role("button", name="Conversations").click()
    dialog = page.get_by_role("dialog", name="Conversations")
    items = dialog.locator(".conversation")
    expect(items).to_have_count(2)
    expect(items.first).to_have_attribute("aria-current", "true")
    expect(items.nth(1)).to_contain_text("I adopted a cat called Biscuit")
    expect(items.nth(1)).to_contain_text("4 messages")
    items.nth(1).click()
    expect(dialog).to_be_hidden()
    expect(chat.said).to_have_text(["I adopted a cat called Biscuit", "She sleeps on my keyboard"])

    page.reload()  # the reopened conversation is the one a reload shows
    chat.wait_connected()
    expect(chat.said).to_have_count(2)


def test_markup_is_shown_as_text(page: Page, servers: Servers) -> None:
    backend = ScriptedBackend([f"Hello *you*.\n\nYou wrote:\n- {XSS}\n- **bold** <b>not bold</b>"])
    chat = ChatPage(page, servers.start(backend).url).open()
    reply = chat.say(XSS)

    expect(chat.said.last).to_have_text(XSS)
    expect(reply.locator("em")).to_have_text("you")  # light formatting, built as elements
    expect(reply.locator("li")).to_have_text([XSS, "bold <b>not bold</b>"])
    expect(reply.locator("strong")).to_have_text("bold")
    assert page.locator("#log img, #log b, #log [onerror]").count() == 0

    page.reload()  # history is rendered the same safe way
    chat.wait_connected()
    expect(chat.said.last).to_have_text(XSS)
    assert page.locator("#log img").count() == 0


def test_a_backend_failure_is_explained_and_the_message_kept(page: Page, servers: Servers) -> None:
    # One scripted reply: the second message finds the script exhausted, and the backend fails.
    chat = ChatPage(page, servers.start(ScriptedBackend(["Hi there."])).url).open()
    chat.say("First")
    reply = chat.say("Please remember this")
    error = reply.get_by_role("alert")
    expect(error).to_contain_text("She couldn't answer just now")
    expect(error).to_contain_text("no reply left")
    expect(chat.said.last).to_have_text("Please remember this")
    expect(chat.input).to_be_editable()
    page.reload()
    chat.wait_connected()
    expect(chat.said.last).to_contain_text("Please remember this")  # stored before the backend failed


def test_reconnects_after_the_server_restarts(page: Page, servers: Servers) -> None:
    server = servers.start(EchoBackend())
    chat = ChatPage(page, server.url).open()
    chat.say("Before the restart")
    port = server.port
    servers.stop(server)
    expect(chat.status).to_have_attribute("data-state", "reconnecting")
    expect(chat.status).to_contain_text("Reconnecting")

    servers.start(EchoBackend(), port=port)
    chat.wait_connected()
    reply = chat.say("After the restart")
    expect(reply).to_contain_text("After the restart")
    expect(chat.said).to_have_count(2)  # the page kept the conversation on screen
