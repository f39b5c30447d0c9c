"""Her self-model on a virtual clock: proposed from her journal, kept or undone by the person, prompted."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
from websockets.asyncio.client import connect

from app.backends.scripted import EchoBackend
from app.config import Settings
from app.server import RunningServer
from memory.embedder import Embedder
from persona.clock import SetClock
from tests.conftest import Chat
from tests.engines import both_settings

DAYS = [
    "I started a pottery class today.",
    "Pottery again tonight, my first bowl collapsed.",
    "My friend Jonas took me climbing.",
    "Went climbing with Jonas again, my arms hurt.",
]


@both_settings
async def test_a_change_kept_reaches_her_prompt_and_one_undone_does_not(
    settings: Settings, embedder: Embedder
) -> None:
    clock = SetClock(datetime(2026, 11, 30, 18, 0))
    echo = EchoBackend()
    server = await RunningServer.start(settings, backend=echo, embedder=embedder, port=0, clock=clock)
    try:
        for day, said in enumerate([*DAYS, "Hello again."]):
            chat = Chat(await connect(server.ws_url))
            await chat.hello(f"day-{day}")  # her journal writes up the conversation before, by rules
            await chat.turn(said)
            await chat.ws.close()
            clock.advance(timedelta(days=1))
        async with httpx.AsyncClient(base_url=server.url) as http:
            notes = {n["text"]: n for n in (await http.get("/api/self")).json()}
            assert set(notes) == {
                "I find myself wondering about pottery.",
                "I find myself wondering about climbing.",
                "I find myself wondering about jonas.",
            }
            pottery = notes["I find myself wondering about pottery."]
            assert pottery["status"] == "proposed" and len(pottery["sources"]) == 2
            journal = {m["id"]: m["text"] for m in (await http.get("/api/memories?kind=reflection")).json()}
            assert all("ottery" in journal[s] for s in pottery["sources"])  # the entries that led to it
            assert (
                pottery["narration"]
                == "You keep coming back to pottery, and I've started wondering about it too."
            )

            climbing = notes["I find myself wondering about climbing."]
            kept = (await http.post(f"/api/self/{pottery['id']}", json={"status": "kept"})).json()
            assert kept["status"] == "kept" and kept["decided_at"]
            assert (
                await http.post(f"/api/self/{climbing['id']}", json={"status": "undone"})
            ).status_code == 200
            assert (await http.post("/api/self/999999", json={"status": "kept"})).status_code == 404
            assert (
                await http.post(f"/api/self/{pottery['id']}", json={"status": "maybe"})
            ).status_code == 422

            chat = Chat(await connect(server.ws_url))
            await chat.hello("after")
            await chat.turn("What have you been thinking about?")
            system = echo.prompts[-1][0]["content"]
            assert "- I find myself wondering about pottery." in system
            assert "climbing" not in system and "jonas" not in system  # undone, and not yet decided

            history = [(n["text"], n["status"]) for n in (await http.get("/api/self")).json()]
            assert ("I find myself wondering about climbing.", "undone") in history  # kept in the history
    finally:
        await server.stop()
