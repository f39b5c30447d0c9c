"""Her journal on a virtual clock: one entry per quiet conversation, by rules here, listed and forgettable."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
from websockets.asyncio.client import connect

from app.backends.scripted import EchoBackend
from app.config import Settings
from app.journal import by_rules
from app.server import RunningServer
from memory.embedder import Embedder
from persona.clock import SetClock
from tests.conftest import Chat
from tests.engines import both_settings


def test_an_entry_by_rules_says_what_happened_what_she_learned_and_what_she_wonders() -> None:
    entry = by_rules(
        ["Hi!", "My interview is on Thursday and I'm nervous.", "How are you?"],
        ["[2026-11-30] The user's sister is called Anna."],
        ["How did Thursday's interview go?"],
    )
    assert 'when they said "My interview is on Thursday and I\'m nervous."' in entry
    assert "I learned that their sister is called Anna." in entry
    assert entry.endswith("Next time I want to ask: How did Thursday's interview go?")
    assert by_rules(["What time is it?"], [], []).startswith(
        "We talked a little; they asked more than they told"
    )


async def entries_when(http: httpx.AsyncClient, done: Callable[[list[Any]], bool]) -> list[Any]:
    """Her journal entries (newest first) once `done` holds of them (the scheduler runs every 50 ms)."""
    for _ in range(100):
        entries: list[Any] = (await http.get("/api/memories", params={"kind": "reflection"})).json()
        if done(entries):
            return entries
        await asyncio.sleep(0.05)
    raise AssertionError(f"her journal never got there: {entries}")


@both_settings
async def test_one_entry_per_quiet_conversation_forgettable_and_not_rewritten(
    settings: Settings, embedder: Embedder
) -> None:
    clock = SetClock(datetime(2026, 11, 30, 9, 0))
    fast = settings.model_copy(update={"initiative_interval": 0.05, "journal_after_minutes": 30})
    server = await RunningServer.start(fast, backend=EchoBackend(), embedder=embedder, port=0, clock=clock)
    try:
        for day, said in enumerate(["I started a pottery class today.", "My cat Miso is sick, I'm worried."]):
            clock.set(datetime(2026, 11, 30, 9, 0) + timedelta(days=day))
            chat = Chat(await connect(server.ws_url))
            await chat.hello(f"day-{day}")
            await chat.turn(said)
            await chat.ws.close()
        clock.advance(timedelta(minutes=20))  # the second conversation is not quiet long enough yet
        chat = Chat(await connect(server.ws_url))
        await chat.hello("later")
        await chat.turn("Just me again.")
        async with httpx.AsyncClient(base_url=server.url) as http:
            entries = (await http.get("/api/memories", params={"kind": "reflection"})).json()
            assert [e["text"].split(". ", 1)[0] for e in entries] == [
                "My journal, Tuesday 1 December 2026, morning"
            ]
            assert "pottery class" in entries[0]["text"]
            clock.advance(timedelta(minutes=15))  # now it is: the scheduler's round writes it
            await chat.ws.close()
            entries = await entries_when(http, lambda found: len(found) >= 2)
            assert len(entries) == 2 and "Miso is sick" in entries[0]["text"]  # newest first; "later" waits
            pottery = next(e for e in entries if "pottery" in e["text"])
            assert (await http.delete(f"/api/memories/{pottery['id']}")).status_code == 200
            clock.advance(timedelta(hours=2))  # "later" is written up; the forgotten entry is not rewritten
            after = await entries_when(http, lambda found: any("Just me again" in e["text"] for e in found))
            assert len(after) == 2 and not any("pottery" in e["text"] for e in after)
    finally:
        await server.stop()
