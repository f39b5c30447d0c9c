"""SillyTavern, installed from npm and driven in Chromium, talks to a real Samantha server.

A person's path: connect SillyTavern's Chat Completion → Custom (OpenAI-compatible) source to Samantha,
open a V3 character whose card has post-history instructions (SillyTavern sends them as a system message
*after* the person's), send a message, and read her streamed reply in SillyTavern's chat.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Request, expect

from app.backends.scripted import EchoBackend
from app.config import DEFAULT_PERSONA
from persona.cards import persona_to_card
from persona.persona import load_persona
from tests.browser.browser_harness import Servers
from tests.browser.sillytavern import SillyTavern, Unavailable, install
from tests.cardfiles import png_with_cards, v2_of, v3_card

pytestmark = pytest.mark.browser

CARD = v3_card(
    "Ava",
    description="{{char}} is a lighthouse keeper who writes letters to {{user}}.",
    personality="patient, dry humour",
    first_mes="The lamp is lit. Come in out of the rain.",
    post_history_instructions="Ava always mentions the weather.",
)
SAID = "My sister Lena visits on Sunday."
SAMANTHA = load_persona(DEFAULT_PERSONA)
# Every text her last message showed while it arrived, so the test can see it grow (streaming).
WATCH_HER_MESSAGES = """() => {
  window.herTexts = new Set();
  new MutationObserver(() => {
    const mine = [...document.querySelectorAll(".mes[is_user='false'] .mes_text")].pop();
    if (mine) window.herTexts.add(mine.innerText);
  }).observe(document.querySelector('#chat'), {subtree: true, childList: true, characterData: true});
}"""
ST_TIMEOUT_MS = 60_000  # SillyTavern's page loads a lot of script on a busy 2-core machine


@pytest.fixture(scope="module")
def sillytavern_package() -> Path:
    """SillyTavern installed from npm (cached outside the repo); in CI a failure to install fails."""
    try:
        return install()
    except Unavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"SillyTavern is needed in CI: {exc}")
        pytest.skip(str(exc))


@pytest.fixture
def tavern(sillytavern_package: Path, tmp_path: Path) -> Iterator[SillyTavern]:
    st = SillyTavern(tmp_path / "sillytavern")
    # SillyTavern writes V3 cards as PNGs with a `ccv3` chunk and a V2 copy in `chara`; so do we.
    (st.characters() / "Ava.png").write_bytes(png_with_cards(chara=v2_of(CARD), ccv3=CARD))
    (st.characters() / "Samantha.png").write_bytes(png_with_cards(chara=persona_to_card(SAMANTHA)))
    st.start()
    yield st
    st.stop()


def connect(page: Page, samantha_url: str) -> None:
    """API Connections → Chat Completion → Custom (OpenAI-compatible), URL and model, then Connect."""
    page.locator("#API-status-top").click()
    page.locator("#main_api").select_option("openai")
    page.locator("#chat_completion_source").select_option("custom")
    page.locator("#custom_api_url_text").fill(samantha_url + "/v1")
    page.locator("#custom_model_id").fill("samantha")
    page.locator("#api_button_openai").click()
    expect(page.locator("#API-status-top")).not_to_have_class(re.compile("fa-plug-circle-exclamation"))
    page.locator("#API-status-top").click()  # close the drawer


def test_sillytavern_chats_with_her_through_the_custom_source(
    tavern: SillyTavern, servers: Servers, browser: Browser
) -> None:
    backend = EchoBackend(delay=0.05)  # echo: the reply says what reached the model, word by word
    samantha = servers.start(backend)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(ST_TIMEOUT_MS)
    page = context.new_page()
    sent: list[dict[str, Any]] = []

    def watch(request: Request) -> None:
        if request.url.endswith("/api/backends/chat-completions/generate"):
            sent.append(json.loads(request.post_data or "{}"))

    page.on("request", watch)
    try:
        page.goto(tavern.url)
        onboarding = page.locator(".popup-input")  # first start: SillyTavern asks the person's name
        onboarding.fill("Theo")
        page.locator(".popup-button-ok").click()

        connect(page, samantha.url)
        page.locator("#rightNavDrawerIcon").click()
        page.locator(".character_select", has_text="Ava").first.click()
        greeting = page.locator(".mes[is_user='false'] .mes_text").last
        expect(greeting).to_contain_text("The lamp is lit")

        page.evaluate(WATCH_HER_MESSAGES)
        page.locator("#send_textarea").fill(SAID)
        page.locator("#send_but").click()
        reply = page.locator(".mes[is_user='false'] .mes_text").last
        expect(reply).to_contain_text("earlier messages in view.")
        expect(reply).to_contain_text(f'You said: "{SAID}"')  # the person's message was the turn
        shown = page.evaluate("() => [...window.herTexts]")
        partial = [t for t in shown if t.startswith("You said:") and "earlier messages" not in t]
        assert len(partial) >= 3, f"the reply did not arrive word by word: {shown}"
        answered = reply.inner_text()

        # "Continue" sends her reply so far, then a nudge: she goes on, and the message is not stored twice.
        page.locator("#send_textarea").fill("/continue")
        page.locator("#send_but").click()
        expect(reply).not_to_have_text(answered)
        expect(reply).to_contain_text("earlier messages in view.")
        assert reply.inner_text().startswith(answered.strip()[:40])

        # Her own exported card, as a SillyTavern character: each of her texts reaches the model once.
        expect(page.locator("#send_but")).to_be_visible()  # SillyTavern is done generating
        page.locator("#rightNavDrawerIcon").click()
        page.locator("#rm_button_characters").click()
        page.locator(".character_select", has_text="Samantha").first.click()
        expect(page.locator(".mes[is_user='false'] .mes_text").last).to_contain_text(SAMANTHA.greeting[:30])
        page.locator("#send_textarea").fill("Hello")
        page.locator("#send_but").click()
        expect(page.locator(".mes[is_user='false'] .mes_text").last).to_contain_text('You said: "Hello"')
    finally:
        context.close()

    body = sent[0]
    assert body["chat_completion_source"] == "custom" and body["stream"] is True
    roles = [m["role"] for m in body["messages"]]
    assert roles[-1] == "system" and body["messages"][-1]["content"] == "Ava always mentions the weather."
    prompt = backend.prompts[0]
    assert "Ava always mentions the weather." in prompt[0]["content"]  # her instructions, not her turn
    assert "lighthouse keeper" in prompt[0]["content"]
    assert prompt[-1] == {"role": "user", "content": SAID}

    continued = sent[1]["messages"]
    assert [m["role"] for m in continued[-2:]] == ["assistant", "system"] and "Continue" in continued[-1][
        "content"
    ]
    said = httpx.get(f"{samantha.url}/api/conversations/openai/turns").json()
    assert [t["text"] for t in said if t["role"] == "user"] == [SAID, "Hello"]

    hers = "\n".join(m["content"] for m in sent[-1]["messages"])
    for text in (SAMANTHA.system.strip(), SAMANTHA.voice.strip(), *SAMANTHA.boundaries):
        assert hers.count(text) == 1, text
