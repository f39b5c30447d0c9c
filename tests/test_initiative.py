"""Her initiative over a real socket on a virtual clock: follow-ups pushed once, budget, quiet hours, off."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime

import httpx
import pytest
from websockets.asyncio.client import connect

from app.backends.scripted import EchoBackend
from app.config import Settings
from app.server import RunningServer
from memory.embedder import Embedder
from persona.clock import SetClock
from tests.conftest import Chat
from tests.engines import both_settings


@pytest.fixture
async def life(settings: Settings, embedder: Embedder) -> AsyncIterator[tuple[RunningServer, SetClock]]:
    clock = SetClock(datetime(2026, 11, 30, 10, 0))  # a Monday morning
    fast = settings.model_copy(update={"initiative_interval": 0.05})
    server = await RunningServer.start(fast, backend=EchoBackend(), embedder=embedder, port=0, clock=clock)
    yield server, clock
    await server.stop()


async def pushed(chat: Chat, wait: float = 0.5) -> list[dict[str, object]]:
    """The proactive frames that arrive within `wait` seconds (a ping's pong ends the wait early)."""
    frames = []
    try:
        async with asyncio.timeout(wait):
            while True:
                frame = await chat.recv()
                if frame["type"] == "proactive":
                    frames.append(frame)
    except TimeoutError:
        return frames


@both_settings
async def test_a_follow_up_is_pushed_once_to_the_open_socket_and_stored(life) -> None:  # type: ignore[no-untyped-def]
    server, clock = life
    chat = Chat(await connect(server.ws_url))
    await chat.hello("days")
    await chat.turn("My exam is on Wednesday.")
    await chat.turn("Wish me luck.")  # its learning waits for the first's: the plan is stored
    assert await pushed(chat, 0.3) == []  # Monday: nothing is due
    clock.set(datetime(2026, 12, 3, 10, 0))  # Thursday
    [frame] = await pushed(chat)
    assert frame["text"] == "How did Wednesday's exam go?" and frame["reason"] == "follow_up"
    assert await pushed(chat, 0.3) == []  # once
    async with httpx.AsyncClient(base_url=server.url) as http:
        turns = (await http.get("/api/conversations/days/turns")).json()
    assert turns[-1]["role"] == "assistant" and turns[-1]["text"] == "How did Wednesday's exam go?"


@both_settings
async def test_budget_quiet_hours_and_the_off_switch_hold_her_back(life) -> None:  # type: ignore[no-untyped-def]
    server, clock = life
    chat = Chat(await connect(server.ws_url))
    await chat.hello("week")
    await chat.turn("My exam is on Wednesday. My brother's party is on Thursday.")
    await chat.turn("Ok.")
    clock.set(datetime(2026, 12, 4, 23, 30))  # Friday night: quiet hours
    assert await pushed(chat, 0.3) == []
    clock.set(datetime(2026, 12, 5, 9, 0))
    assert [f["text"] for f in await pushed(chat)] == ["How did Wednesday's exam go?"]  # one a day
    async with httpx.AsyncClient(base_url=server.url) as http:
        state = (await http.put("/api/initiative", json={"enabled": False})).json()
        assert state["enabled"] is False
        clock.set(datetime(2026, 12, 6, 9, 0))
        assert await pushed(chat, 0.3) == []  # turned off
        assert (await http.put("/api/initiative", json={"enabled": "maybe"})).status_code == 422
        await http.put("/api/initiative", json={"enabled": True})
    assert [f["text"] for f in await pushed(chat)] == ["How did your brother's party go?"]


@both_settings
async def test_a_long_silence_with_her_page_open_earns_one_check_in(life) -> None:  # type: ignore[no-untyped-def]
    server, clock = life
    chat = Chat(await connect(server.ws_url))
    await chat.hello("open-tab")
    await chat.turn("My sister Anna moved to Oslo last month.")
    clock.set(datetime(2026, 12, 5, 10, 0))  # five days: not yet
    assert await pushed(chat, 0.3) == []
    clock.set(datetime(2026, 12, 8, 11, 0))  # eight days of silence
    [frame] = await pushed(chat)
    assert frame["reason"] == "check_in"
    assert frame["text"] == (
        "It's been eight days, and this morning I thought of you. I keep thinking about what you told me: "
        "your sister Anna moved to Oslo last month. How are you?"
    )
    clock.set(datetime(2026, 12, 9, 11, 0))  # a new day's budget, but the same silence: once
    assert await pushed(chat, 0.3) == []


async def test_a_good_night_set_through_the_api_waits_for_the_off_switch(life) -> None:  # type: ignore[no-untyped-def]
    server, clock = life  # Monday 10:00; rounds every 50 ms
    chat = Chat(await connect(server.ws_url))
    await chat.hello("nights")
    async with httpx.AsyncClient(base_url=server.url) as http:
        state = (await http.put("/api/initiative", json={"good_night": "23:00"})).json()
        assert (state["good_night"], state["good_night_at"], state["good_night_daily"]) == (
            "23:00",
            "21:45",
            True,
        )
        bad = await http.put("/api/initiative", json={"good_night": "11pm"})
        assert bad.status_code == 422 and "good_night" in bad.text
        assert (await http.put("/api/initiative", json={"enabled": False})).json()["good_night"] == "23:00"
        clock.set(datetime(2026, 11, 30, 21, 50))
        assert await pushed(chat, 0.3) == []  # turned off: no good night either
        await http.put("/api/initiative", json={"enabled": True})
        [frame] = await pushed(chat)
        assert frame["reason"] == "good_night" and frame["text"].startswith("Good night.")
        turns = (await http.get("/api/conversations/nights/turns")).json()
        assert turns[-1]["role"] == "assistant" and turns[-1]["text"] == frame["text"]  # stored as hers
        assert (await http.put("/api/initiative", json={"good_night": None})).json()["good_night"] is None
        clock.set(datetime(2026, 12, 1, 21, 50))
        assert await pushed(chat, 0.3) == []
