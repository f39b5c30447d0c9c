"""Her voice in the page, in real Chromium with a fake microphone that says "My dog is called Biscuit."
(Chromium plays a WAV file as the microphone, over and over): push-to-talk, read-aloud, and a call with
barge-in. The speech models are the real ones, on the server; the page's VAD runs in the browser."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Browser, Page, Playwright, expect

from app.backends import Backend
from app.backends.scripted import EchoBackend, ScriptedBackend
from app.config import Settings
from app.server import RunningServer
from app.voice.audio import Speech, resample, wav_bytes
from app.voice.service import Voice
from memory.embedder import Embedder
from tests.browser.browser_harness import CHROMIUM_ARGS, ChatPage, ServerLoop

pytestmark = pytest.mark.browser
pytest_plugins = ["tests.voice_fixtures"]

SAID = re.compile(r"my dog is called biscuit", re.IGNORECASE)
LONG_REPLY = (
    "Oh, I love that name, it sounds so warm and friendly. Is he a big dog or a small one? "
    "I imagine him running along the beach after a ball. Does he like to swim in the sea? "
    "Some dogs are scared of the water at first. Mine would be, I think, if I had one. "
    "What colour is his coat? I bet he curls up by the fire in the evening. "
    "Tell me how you chose his name."
)


@pytest.fixture(scope="module")
def microphone(voice: Voice, server_loop: ServerLoop, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the fake microphone hears, looped: half a second of quiet, the sentence, nine seconds of quiet
    (long enough for her reply to start before the sentence comes round again, even on busy cores)."""
    said = resample(server_loop.run(voice.say_all("My dog is called Biscuit.")), 48_000)
    quiet = [np.zeros(int(s * 48_000), np.int16) for s in (0.5, 9.0)]
    path = tmp_path_factory.mktemp("microphone") / "biscuit.wav"
    path.write_bytes(wav_bytes(Speech(np.concatenate([quiet[0], said.pcm, quiet[1]]), 48_000)))
    return path


@pytest.fixture(scope="module")
def browser(playwright: Playwright, microphone: Path) -> Iterator[Browser]:
    """Chromium with the fake microphone; sound may play without a click first (the test clicks anyway)."""
    from tests.browser.browser_harness import CHROMIUM

    args = [
        *CHROMIUM_ARGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={microphone}",
        "--autoplay-policy=no-user-gesture-required",
    ]
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
    yield browser
    browser.close()


@pytest.fixture
def start(
    server_loop: ServerLoop, embedder: Embedder, voice: Voice, tmp_path: Path
) -> Iterator[Callable[[Backend], str]]:
    """Start a server sharing the test session's voice; returns its URL."""
    running: list[RunningServer] = []

    def start_server(backend: Backend) -> str:
        settings = Settings(backend="echo", data_dir=tmp_path / "data", seeds_dir="")
        server = server_loop.run(
            RunningServer.start(settings, backend=backend, embedder=embedder, port=0, voice=voice)
        )
        running.append(server)
        return server.url

    yield start_server
    for server in running:
        server_loop.run(server.stop())


def test_push_to_talk_puts_the_words_in_the_box_and_her_reply_is_read_aloud(
    page: Page, start: Callable[[Backend], str]
) -> None:
    chat = ChatPage(page, start(ScriptedBackend(["What a lovely name. Tell me about him."]))).open()
    read_aloud = page.get_by_role("button", name="Read aloud")
    read_aloud.click()
    expect(read_aloud).to_have_attribute("aria-pressed", "true")

    # Hold the microphone button for a whole phrase, then let go.
    mic = page.get_by_role("button", name="Hold to talk")
    box = mic.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    expect(mic).to_have_attribute("aria-pressed", "true")
    time.sleep(3.0)
    page.mouse.up()
    expect(chat.input).to_have_value(SAID, timeout=60_000)
    expect(chat.said).to_have_count(0)  # not sent: the person can edit it first
    chat.input.press("End")
    chat.input.press_sequentially(" He is three.")
    chat.input.press("Enter")
    expect(chat.said.last).to_have_text(re.compile(r"biscuit\.? He is three\.$", re.IGNORECASE))
    expect(chat.replies.last).to_contain_text("What a lovely name.")
    expect(read_aloud).to_have_attribute("data-speaking", "true", timeout=60_000)  # her voice is playing
    expect(read_aloud).not_to_have_attribute("data-speaking", "true", timeout=60_000)  # and it ends


def test_a_call_is_hands_free_and_speaking_over_her_stops_her(
    page: Page, start: Callable[[Backend], str]
) -> None:
    # Her first answer is long and slow, so the microphone's next "My dog is called Biscuit" interrupts it.
    backend = ScriptedBackend([LONG_REPLY, "Biscuit again! Hello, Biscuit.", "Yes?", "Mm-hm."], delay=0.2)
    chat = ChatPage(page, start(backend)).open()
    page.get_by_role("button", name="Call").click()
    state = page.locator("#call-state")
    expect(state).to_contain_text("On a call", timeout=60_000)

    expect(chat.said.first).to_have_text(SAID, timeout=60_000)  # said, heard and sent: no key pressed
    first = chat.replies.nth(1)
    expect(first.locator(".bubble")).to_contain_text("I love that name", timeout=60_000)
    expect(state).to_contain_text(re.compile("speaking|thinking|hearing"))
    # The phrase comes round again while she is still answering: she stops, as if Stop were pressed.
    expect(first.locator(".meta")).to_contain_text("stopped", timeout=60_000)
    expect(chat.said.nth(1)).to_have_text(SAID, timeout=60_000)

    mute = page.get_by_role("button", name="Mute")
    mute.click()
    expect(state).to_contain_text("muted")
    page.get_by_role("button", name="Call").click()  # hang up
    expect(state).to_be_hidden()
    expect(mute).to_be_hidden()


def test_a_recording_without_words_is_explained(page: Page, start: Callable[[Backend], str]) -> None:
    chat = ChatPage(page, start(EchoBackend())).open()
    mic = page.get_by_role("button", name="Hold to talk")
    mic.click()  # a click starts recording...
    expect(mic).to_have_attribute("aria-pressed", "true")
    page.wait_for_timeout(250)
    mic.click()  # ...and the next one stops it: only the quiet before the sentence was heard
    expect(page.locator("#notice")).to_contain_text("didn't hear", timeout=60_000)
    expect(chat.input).to_have_value("")
    assert chat.said.count() == 0
