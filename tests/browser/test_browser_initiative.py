"""Her initiative in real Chromium: a message she sends first appears in the page and stays after a reload."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from app.backends.scripted import EchoBackend
from app.config import Settings
from app.server import RunningServer
from persona.clock import SetClock
from tests.browser.browser_harness import ChatPage, Servers

pytestmark = pytest.mark.browser


def test_a_follow_up_she_sends_first_shows_in_the_page(page: Page, servers: Servers) -> None:
    clock = SetClock(datetime(2026, 11, 30, 10, 0))  # a Monday
    settings = Settings(backend="echo", data_dir=servers.data_dir, seeds_dir="", initiative_interval=0.05)
    server = servers.loop.run(
        RunningServer.start(settings, backend=EchoBackend(), embedder=servers.embedder, port=0, clock=clock)
    )
    servers.running.append(server)
    chat = ChatPage(page, server.url).open()
    chat.say("My exam is on Wednesday.")
    chat.say("Wish me luck.")
    expect(page.locator(".msg--proactive")).to_have_count(0)

    clock.set(datetime(2026, 12, 3, 10, 0))  # Thursday: she asks, unprompted
    pushed = page.locator(".msg--proactive")
    expect(pushed).to_have_count(1)
    expect(pushed.locator(".bubble")).to_have_text("How did Wednesday's exam go?")
    expect(pushed.locator(".meta")).to_contain_text("she wrote first")
    expect(page.locator("#announcer")).to_contain_text("How did Wednesday's exam go?")

    page.reload()  # stored as her message: still there, once
    chat.wait_connected()
    expect(page.locator(".msg--her .bubble", has_text="How did Wednesday's exam go?")).to_have_count(1)


def test_her_mood_shows_with_its_cause_and_her_journal_can_be_read_and_forgotten(
    page: Page, servers: Servers
) -> None:
    clock = SetClock(datetime(2026, 11, 30, 18, 0))
    settings = Settings(backend="echo", data_dir=servers.data_dir, seeds_dir="", initiative_interval=0.05)
    server = servers.loop.run(
        RunningServer.start(settings, backend=EchoBackend(), embedder=servers.embedder, port=0, clock=clock)
    )
    servers.running.append(server)
    chat = ChatPage(page, server.url).open()
    mood = page.locator("#mood")
    expect(mood).to_be_hidden()  # calm
    chat.say("My dog Pepper died this morning.")
    expect(mood).to_be_visible()
    expect(mood).to_contain_text("Feeling sad")
    expect(mood).to_have_attribute("title", 'Why: you told me "My dog Pepper died this morning"')

    clock.advance(timedelta(days=2))  # the conversation is quiet: the scheduler writes it up; the mood fades
    page.locator("#new-chat").click()
    chat.wait_connected()
    expect(mood).to_be_hidden()
    page.get_by_role("button", name="Memories").click()
    view = page.get_by_role("dialog", name="What she remembers")
    view.get_by_label("Kind of memory").select_option(label="Her journal")
    entry = view.locator(".memory").filter(has_text="My journal")
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text("My dog Pepper died this morning")
    written = entry.get_attribute("data-memory-id")
    forget = entry.get_by_role("button")
    forget.click()
    forget.click()
    # That entry is gone (the scheduler may write up another conversation meanwhile: not this one).
    expect(view.locator(f'.memory[data-memory-id="{written}"]')).to_have_count(0)


def test_a_change_of_her_self_model_is_kept_and_another_undone_in_the_page(
    page: Page, servers: Servers
) -> None:
    clock = SetClock(datetime(2026, 11, 30, 18, 0))
    settings = Settings(backend="echo", data_dir=servers.data_dir, seeds_dir="")
    server = servers.loop.run(
        RunningServer.start(settings, backend=EchoBackend(), embedder=servers.embedder, port=0, clock=clock)
    )
    servers.running.append(server)
    chat = ChatPage(page, server.url).open()
    said = [
        "I started a pottery class.",
        "Pottery again, my bowl collapsed.",
        "Climbing with Jonas.",
        "Jonas and climbing.",
    ]
    for text in [*said, "Hello again."]:
        chat.say(text)
        clock.advance(timedelta(days=1))  # the next conversation writes this one up in her journal
        page.locator("#new-chat").click()
        chat.wait_connected()
    chat.say("Hi.")  # its recall waits for the journal and her proposals
    page.get_by_role("button", name="Memories").click()
    view = page.get_by_role("dialog", name="What she remembers")
    section = view.get_by_role("region", name="Who she is becoming")
    expect(section.locator(".self-note")).to_have_count(3)
    pottery = section.locator(".self-note").filter(has_text="wondering about pottery")
    expect(pottery).to_contain_text("You keep coming back to pottery")
    pottery.get_by_role("button", name="Keep: I find myself wondering about pottery.").click()
    expect(pottery).to_contain_text("you kept this")
    climbing = section.locator(".self-note").filter(has_text="wondering about climbing")
    climbing.get_by_role("button", name="Undo: I find myself wondering about climbing.").click()
    expect(climbing).to_contain_text("you undid this")  # still listed: the history
    expect(climbing).to_have_class(re.compile("self-note--undone"))
