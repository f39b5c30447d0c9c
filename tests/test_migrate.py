"""`samantha memory migrate --to postgresql://...`: an embedded data folder copied into a real Postgres."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app.cli import main
from app.config import DEFAULT_SEEDS
from memory.accounts import AccountStore
from memory.embedder import Embedder
from memory.pg.store import PgMemoryStore
from memory.seeds import ingest_seeds
from memory.store import MemoryStore
from memory.turns import turn_memory

SAID = [
    "My dog is called Biscuit and he loves the beach.",
    "I work as a nurse at the children's hospital.",
    "My brother Tom is getting married in June.",
    "I'm learning to play the cello, slowly.",
    "My favourite food is my grandmother's lasagne.",
]


async def fill(data_dir: Path, embedder: Embedder) -> None:
    """A data folder as a server leaves it: two people talking, facts (one superseded), the reviews."""
    store = await MemoryStore.open(data_dir, embedder)
    for user in ("ana", "bob"):
        for text in SAID:
            said = await store.log_turn(user, "c1", "user", text)
            await store.remember_batch(user, [turn_memory(said)])
            await store.log_turn(user, "c1", "assistant", f"Tell me more about that, {user}.")
    await store.remember("ana", "The user lives in Porto.", kind="fact", fact_key="home")
    await store.remember("ana", "The user lives in Lisbon.", kind="fact", fact_key="home")
    await ingest_seeds(store, DEFAULT_SEEDS, progress=False)
    await store.aclose()
    accounts = await AccountStore.open(data_dir)
    await accounts.add("ana")
    await accounts.aclose()


def test_a_data_folder_moves_to_postgres_whole_and_recalls_the_same(
    tmp_path: Path, embedder: Embedder, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "data"
    asyncio.run(fill(data_dir, embedder))

    assert main(["memory", "--data-dir", str(data_dir), "migrate", "--to", postgres_url]) == 0
    out = capsys.readouterr().out
    assert "DIFFERENT" not in out
    assert "recalls identical: 11 of 11" in out  # a question from each current memory: 6 of ana, 5 of bob

    async def after() -> None:
        store = await PgMemoryStore.open(postgres_url, embedder)
        try:
            home = [m for m in await store.memories("ana", kind="fact") if m.valid_to is None]
            assert [m.text for m in home] == ["The user lives in Lisbon."]  # Porto stays superseded
            found = await store.recall("bob", "What is my dog's name?", k=1)
            assert "Biscuit" in found[0].memory.text and found[0].memory.user == "bob"
            # New rows continue after the copied ids.
            later = await store.log_turn("bob", "c2", "user", "Hello again")
            assert later.id > max(t["id"] for t in (await store.export("ana"))["turns"])
        finally:
            await store.aclose()
        accounts = await AccountStore.open(data_dir, database=postgres_url)
        try:
            assert [u.name for u in await accounts.listed()] == ["ana"]
        finally:
            await accounts.aclose()

    asyncio.run(after())
    # Never into a database that already holds memories: nothing is merged or overwritten.
    assert main(["memory", "--data-dir", str(data_dir), "migrate", "--to", postgres_url]) == 2
    assert "migrate into an empty one" in capsys.readouterr().err
