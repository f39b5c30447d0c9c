"""Her mood on a virtual clock: moved by bad news at once, in her notes and frames, fading, forgettable."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import httpx
import pytest
from websockets.asyncio.client import connect

from app.backends.scripted import EchoBackend
from app.config import Settings
from app.server import RunningServer
from memory.embedder import Embedder
from memory.mood import react
from persona.clock import SetClock
from tests.conftest import Chat
from tests.engines import both_settings


def test_news_moves_her_and_small_talk_or_negation_does_not() -> None:
    assert react("My cat Miso died this morning.") == (-0.7, -0.3)
    assert react("I got the job!") == (0.7, 0.5)
    assert react("What's the weather like?") is None
    assert react("I'm not sad at all.") is None


@pytest.fixture
async def running(
    settings: Settings, embedder: Embedder
) -> AsyncIterator[tuple[RunningServer, SetClock, EchoBackend]]:
    clock = SetClock(datetime(2026, 11, 30, 18, 0))
    echo = EchoBackend()
    server = await RunningServer.start(settings, backend=echo, embedder=embedder, port=0, clock=clock)
    yield server, clock, echo
    await server.stop()


@both_settings
async def test_a_mood_after_bad_news_colours_her_notes_and_fades(running) -> None:  # type: ignore[no-untyped-def]
    server, clock, echo = running
    chat = Chat(await connect(server.ws_url))
    ready = await chat.hello("evening")
    assert ready["mood"] is None  # calm, at first
    frames = await chat.turn("My grandmother died this morning.")
    recalled = frames[0]
    assert recalled["type"] == "recalled" and recalled["mood"]["word"] == "sad"
    assert recalled["mood"]["cause"] == 'you told me "My grandmother died this morning"'
    assert (
        'You feel sad, because you told me "My grandmother died this morning"'
        in echo.prompts[-1][-2]["content"]
    )
    frames = await chat.turn("Let's talk about something else.")  # the mood stays, stored
    assert frames[0]["mood"]["word"] == "sad"
    async with httpx.AsyncClient(base_url=server.url) as http:
        assert (await http.get("/api/mood")).json()["word"] == "sad"
        clock.advance(timedelta(hours=12))  # half as strong
        assert (await http.get("/api/mood")).json()["word"] == "a little low"  # fading
        clock.advance(timedelta(days=2))
        assert (await http.get("/api/mood")).json() is None  # calm again
    await chat.turn("Hello again.")
    assert "You feel" not in echo.prompts[-1][-2]["content"]


@both_settings
async def test_forgetting_the_news_forgets_the_mood(running) -> None:  # type: ignore[no-untyped-def]
    server, _clock, _echo = running
    chat = Chat(await connect(server.ws_url))
    await chat.hello("news")
    frames = await chat.turn("I failed my driving test, I'm so sad.")
    user_turn = frames[-1]["user_turn_id"]
    await chat.turn("Anyway.")
    async with httpx.AsyncClient(base_url=server.url) as http:
        assert (await http.get("/api/mood")).json()["word"] == "sad"
        memories = (await http.get("/api/memories", params={"q": "driving"})).json()
        said = next(m for m in memories if m["kind"] == "turn" and "user:" in m["text"])  # not her reply
        assert (await http.delete(f"/api/memories/{said['id']}")).status_code == 200
        assert (await http.get("/api/mood")).json() is None
    assert user_turn
