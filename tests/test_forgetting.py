"""Forgetting is complete: no reply quoting it, no derived memory, no word left in any file."""

from __future__ import annotations

from typing import Any

import httpx

from app.backends.scripted import EchoBackend
from tests.engines import Engine, both_engines, files_holding, traces

SECRET = "tangerine"


async def test_forgetting_leaves_no_copy_anywhere(make_server: Any) -> None:
    backend = EchoBackend()
    server = await make_server(backend)
    chat = await server.chat("c1")
    await chat.turn(f"My password for the bank is {SECRET}-42.")
    await chat.turn("I love hiking in the mountains.")
    other = await server.chat("c2")
    quoted = await other.turn("Remind me what my bank password is.")
    assert SECRET in quoted[-1]["text"]  # her reply repeats it (the echo backend quotes what it recalled)
    data_dir = server.settings.data_dir
    assert files_holding(data_dir, SECRET)  # the test can see the word while it is stored

    async with httpx.AsyncClient(base_url=server.url) as http:
        memories = (await http.get("/api/memories")).json()
        # What the person said (her replies quoting it are memories too, and go with it).
        said = next(
            m
            for m in memories
            if m["kind"] == "turn" and f"user: My password for the bank is {SECRET}" in m["text"]
        )
        assert any(SECRET in m["text"] and "assistant:" in m["text"] for m in memories)
        assert (await http.delete(f"/api/memories/{said['id']}")).status_code == 200
        assert SECRET not in (await http.get("/api/export")).text
        assert SECRET not in (await http.get("/api/memories")).text
        for conversation in ("c1", "c2"):
            assert SECRET not in (await http.get(f"/api/conversations/{conversation}/turns")).text
        kept = (await http.get("/api/conversations/c1/turns")).json()
        assert "I love hiking in the mountains." in [t["text"] for t in kept]  # the rest stays

    assert files_holding(data_dir, SECRET) == []  # not in the database, its WAL, or the index files
    await chat.turn("What do you know about me?")
    assert SECRET not in str(list(backend.prompts)[-1])  # nor in what the model reads next
    await server.stop()
    assert files_holding(data_dir, SECRET) == []


@both_engines
async def test_a_forgotten_word_said_elsewhere_keeps_those_replies(store: Engine) -> None:
    """Only her replies that quote what was forgotten go, not every reply sharing a common word."""
    first = await store.log_turn("me", "c1", "user", "My sister Amy lives in Lisbon.")
    await store.log_turn("me", "c1", "assistant", "Lisbon is lovely; say hi to Amy.")
    second = await store.log_turn("me", "c1", "user", "I visited Lisbon last spring.")
    await store.log_turn("me", "c1", "assistant", "What did you like most about Lisbon?")
    await store.remember(
        "me", "[2026-11-21] user: My sister Amy lives in Lisbon.", kind="turn", source=[first.id]
    )
    await store.remember(
        "me", "[2026-11-21] user: I visited Lisbon last spring.", kind="turn", source=[second.id]
    )
    amy = (await store.memories("me", query="Amy"))[0]
    assert await store.forget("me", amy.id) == 1
    left = [t.text for t in await store.history("me", "c1", 10)]
    assert left == ["I visited Lisbon last spring.", "What did you like most about Lisbon?"]


@both_engines
async def test_deleting_a_user_leaves_no_word_of_theirs_anywhere(store: Engine) -> None:
    """SQLite: in no file. Postgres: in no row of any table (its files keep dead rows until reused:
    docs/DEPLOYMENT.md, "Forgetting on Postgres")."""
    said = await store.log_turn("ana", "c1", "user", f"My locker code is {SECRET}.")
    await store.log_turn("ana", "c1", "assistant", f"Noted: {SECRET}.")
    await store.remember(
        "ana", f"[2026-11-21] user: My locker code is {SECRET}.", kind="turn", source=[said.id]
    )
    await store.remember("bob", "[2026-11-21] user: I like trains.", kind="turn")
    assert await traces(store, SECRET)
    await store.forget_user("ana")
    assert await traces(store, SECRET) == []
    assert await store.count("bob") == {"turn": 1}  # nobody else's memories go
