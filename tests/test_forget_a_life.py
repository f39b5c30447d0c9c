"""Forgetting a person after a life with her: plans, mood, journal, self-model, her initiative's marks.

Two people live a week on a virtual clock through a real server; then `samantha user delete` forgets one.
Nothing of theirs may remain readable anywhere in the data folder: no row under their name in any table
(whatever tables later migrations add), no `meta` key naming them, and none of their words or their name
in the bytes of any file (the database, its write-ahead log, the vector indexes).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect

from app.backends.scripted import EchoBackend
from app.config import Settings
from app.server import RunningServer
from memory.accounts import AccountStore
from memory.embedder import Embedder
from persona.clock import SetClock
from tests.conftest import Chat
from tests.process import run_cli

# What each says, one conversation a day. Alice's words are rare, so finding one in a file means hers.
ALICE_DAYS = [
    "I started a marimba class at Vexleyhall today. Say good night to me at 21:30.",
    "My audition at Vexleyhall is on Thursday and my cat Pumpernickel died.",
    "Marimba again tonight, Pumpernickel's bowl is still by the door.",
]
BOB_DAYS = ["I started a climbing course.", "Climbing again, my arms hurt. My exam is on Friday."]
ALICE_WORDS = [b"alice", b"vexleyhall", b"pumpernickel", b"marimba", b"audition"]


async def live(server: RunningServer, token: str, conversation: str, said: str) -> Chat:
    chat = Chat(await connect(server.ws_url))
    await chat.send({"type": "hello", "conversation": conversation, "token": token})
    assert (await chat.recv())["type"] == "ready"
    frames = await chat.turn(said)
    assert frames[-1]["type"] == "done", frames[-1]
    return chat


def rows_of(db: Path, user: str) -> dict[str, Any]:
    """Every row under `user` in every table with a `user` column, and every meta key naming them."""
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        found: dict[str, Any] = {}
        for table in tables:
            columns = [c[1] for c in conn.execute(f"PRAGMA table_info('{table}')")]
            key = "user" if "user" in columns else "name" if table == "users" else None
            if key is None:
                continue
            if count := conn.execute(f"SELECT COUNT(*) FROM {table} WHERE {key} = ?", (user,)).fetchone()[0]:
                found[table] = count
        keys = [r[0] for r in conn.execute("SELECT key FROM meta") if user in r[0]]
        if keys:
            found["meta"] = keys
    return found


async def test_forgetting_a_person_leaves_nothing_of_their_life(
    settings: Settings, embedder: Embedder
) -> None:
    accounts = await AccountStore.open(settings.data_dir)
    alice, bob = await accounts.add("alice"), await accounts.add("bob")
    await accounts.aclose()
    clock = SetClock(datetime(2026, 11, 30, 18, 0))  # a Monday evening
    server = await RunningServer.start(
        settings, backend=EchoBackend(), embedder=embedder, port=0, clock=clock
    )
    try:
        for day, (a, b) in enumerate(zip(ALICE_DAYS, [*BOB_DAYS, "Hello again."], strict=True)):
            # Each hello writes up the day before in her journal (by rules); each round may speak first.
            chats = [await live(server, alice, f"a-{day}", a), await live(server, bob, f"b-{day}", b)]
            clock.set(clock.now().replace(hour=21, minute=31))
            await server.initiative_round()  # Alice's good night (and Bob's follow-up, when due)
            for chat in chats:
                await chat.ws.close()
            clock.set(clock.now().replace(hour=18) + timedelta(days=1))
        clock.advance(timedelta(days=9))  # a long silence, a socket open: a check-in each
        chats = [await live(server, alice, "a-late", "Hello?"), await live(server, bob, "b-late", "Hi.")]
        clock.advance(timedelta(days=8))
        await server.initiative_round()
        for chat in chats:
            await chat.ws.close()
        async with httpx.AsyncClient(base_url=server.url) as http:
            said_to = {"Authorization": f"Bearer {alice}"}
            notes = (await http.get("/api/self", headers=said_to)).json()
            assert notes, "her self-model changed with Alice (marimba, twice in her journal)"
            assert (
                await http.post(f"/api/self/{notes[0]['id']}", json={"status": "kept"}, headers=said_to)
            ).is_success
            for token in (alice, bob):
                off = await http.put(
                    "/api/initiative", json={"enabled": False}, headers={"Authorization": f"Bearer {token}"}
                )
                assert off.json()["enabled"] is False
    finally:
        await server.stop()

    db = settings.data_dir / "samantha.db"
    lived = rows_of(db, "alice")
    for table in ("memories", "turns", "conversations", "moods", "self_notes", "meta", "users"):
        assert table in lived, f"the life left nothing in {table}: {lived}"
    assert any(k.startswith("good-night") for k in lived["meta"]) and any(
        k.startswith("journal:") for k in lived["meta"]
    ), lived["meta"]

    bobs = rows_of(db, "bob")
    deleted = run_cli("user", "--data-dir", str(settings.data_dir), "delete", "alice", "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert rows_of(db, "alice") == {}
    assert rows_of(db, "bob") == bobs and bobs["meta"]  # the other person's life is untouched
    for path in sorted(p for p in settings.data_dir.rglob("*") if p.is_file()):
        content = path.read_bytes().lower()
        left = [w.decode() for w in ALICE_WORDS if w in content]
        assert not left, f"{path.name} still holds {left}"
