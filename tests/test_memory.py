"""Memory with the real embedder: ranking, scoping, dedupe, forgetting, seeds, and index rebuilds."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

from app.config import DEFAULT_SEEDS
from memory.embedder import Embedder
from memory.models import SHARED, MemoryError_
from memory.seeds import ingest_seeds, passages
from memory.store import MemoryStore
from tests.engines import Engine, both_engines

FACTS = [
    "[2026-11-20] user: My dog is called Biscuit and he loves the beach.",
    "[2026-11-20] user: I work as a nurse at the children's hospital.",
    "[2026-11-20] user: My favourite food is my grandmother's lasagne.",
    "[2026-11-20] user: I'm learning to play the cello, slowly.",
    "[2026-11-20] user: My brother Tom is getting married in June.",
]


async def remember_all(store: Engine, user: str = "me") -> list[int]:
    ids = []
    for text in FACTS:
        memory = await store.remember(user, text, kind="turn")
        assert memory is not None
        ids.append(memory.id)
    return ids


@both_engines
@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What is my dog's name?", "Biscuit"),
        ("Where do I work?", "nurse"),
        ("Who is getting married?", "Tom"),
        ("What instrument am I learning?", "cello"),
    ],
)
async def test_recall_ranks_the_relevant_memory_first(
    store: MemoryStore, question: str, expected: str
) -> None:
    await remember_all(store)
    recalled = await store.recall("me", question, k=3)
    assert recalled and expected in recalled[0].memory.text
    scores = [r.score.total for r in recalled]
    assert scores == sorted(scores, reverse=True)
    top = recalled[0].score
    assert 0 < top.dense <= 1 and 0 <= top.recency <= 1 and 0 <= top.importance <= 1


@both_engines
async def test_a_write_in_progress_never_holds_up_a_recall(store: Engine) -> None:
    """Reads have their own connections: while a write is in a long transaction (learning, a forget),
    recall and the conversation log still answer, and see what was committed before it."""
    await remember_all(store)
    await store.log_turn("me", "c1", "user", "hello")
    inside, release = threading.Event(), threading.Event()

    def long_write(conn: Any) -> None:
        conn.execute("UPDATE memories SET importance = importance WHERE user = 'me'")  # holds the rows' locks
        inside.set()
        release.wait(10)

    held = asyncio.ensure_future(store.run_write(long_write))
    try:
        assert await asyncio.to_thread(inside.wait, 10)
        recalled = await asyncio.wait_for(store.recall("me", "What is my dog's name?", k=1), 5)
        assert "Biscuit" in recalled[0].memory.text
        assert [t.text for t in await asyncio.wait_for(store.history("me", "c1", 5), 5)] == ["hello"]
        assert not held.done()
    finally:
        release.set()
    await held


@both_engines
async def test_unrelated_question_recalls_nothing(store: Engine) -> None:
    await remember_all(store)
    assert await store.recall("me", "How does quantum tunnelling work in semiconductors?", k=5) == []


@both_engines
async def test_users_never_see_each_others_memories(store: Engine) -> None:
    await remember_all(store, "alice")
    assert await store.recall("bob", "What is my dog's name?", k=5) == []
    assert await store.memories("bob") == []
    alice_dog = (await store.recall("alice", "What is my dog's name?", k=1))[0].memory
    assert await store.forget("bob", alice_dog.id) == 0  # bob cannot forget alice's memory by guessing its id
    assert (await store.recall("alice", "What is my dog's name?", k=1))[0].memory.id == alice_dog.id


@both_engines
async def test_duplicates_are_stored_once(store: Engine) -> None:
    first = await store.remember("me", "[2026-11-20] user: My dog is called Biscuit.", kind="turn")
    assert first is not None
    assert await store.remember("me", "[2026-11-20] user:  my dog is called biscuit.", kind="turn") is None
    assert await store.remember("me", "[2026-11-21] user: My dog is called Biscuit.", kind="turn") is None
    assert (await store.count("me")) == {"turn": 1}


@both_engines
async def test_forget_removes_row_vector_and_words(store: Engine) -> None:
    ids = await remember_all(store)
    assert await store.forget("me", ids[0]) == 1
    recalled = await store.recall("me", "What is my dog's name? Biscuit", k=5)
    assert all("Biscuit" not in r.memory.text for r in recalled)
    assert await store.memories("me", query="Biscuit") == []
    assert (await store.verify())["me"] == {
        "rows": len(FACTS) - 1,
        "vectors": len(FACTS) - 1,
        "consistent": True,
    }
    assert await store.forget("me", ids[0]) == 0  # already gone


@both_engines
async def test_forgetting_a_said_thing_removes_the_turn_and_what_came_from_it(store: Engine) -> None:
    turn = await store.log_turn("me", "c1", "user", "My dog is called Biscuit")
    said = await store.remember(
        "me", "[2026-11-21] user: My dog is called Biscuit", kind="turn", source=[turn.id]
    )
    fact = await store.remember("me", "The user's dog is called Biscuit.", kind="fact", source=[turn.id])
    assert said is not None and fact is not None
    assert await store.forget("me", said.id) == 2
    assert await store.memories("me") == []
    assert await store.history("me", "c1", 10) == []


async def test_index_is_rebuilt_from_sqlite(tmp_path: Path, embedder: Embedder) -> None:
    store = await MemoryStore.open(tmp_path / "data", embedder)
    await remember_all(store)
    await store.aclose()
    index_files = list((tmp_path / "data" / "index").glob("*.faiss"))
    assert len(index_files) == 1

    index_files[0].unlink()  # deleted: rebuilt from the stored vectors
    store = await MemoryStore.open(tmp_path / "data", embedder)
    assert "Biscuit" in (await store.recall("me", "What is my dog's name?", k=1))[0].memory.text
    await store.aclose()

    index_files[0].write_bytes(b"this is not a faiss index")  # corrupted: rebuilt too
    store = await MemoryStore.open(tmp_path / "data", embedder)
    assert "Biscuit" in (await store.recall("me", "What is my dog's name?", k=1))[0].memory.text
    assert len(store.index("me")) == len(FACTS)
    await store.aclose()


async def test_stale_index_missing_a_write_is_rebuilt(tmp_path: Path, embedder: Embedder) -> None:
    store = await MemoryStore.open(tmp_path / "data", embedder)
    await remember_all(store)
    await store.save_indexes()
    # A write that reached SQLite after the index was last saved (as after a crash) must not be lost.
    late = await store.remember("me", "[2026-11-21] user: My cat is called Pickle.", kind="turn")
    assert late is not None
    store._indexes.clear()  # forget the in-memory index, as a restart would; the file on disk is stale
    assert "Pickle" in (await store.recall("me", "What's my cat called?", k=1))[0].memory.text
    await store.aclose()


async def test_memories_survive_reopening(tmp_path: Path, embedder: Embedder) -> None:
    store = await MemoryStore.open(tmp_path / "data", embedder)
    await remember_all(store)
    await store.log_turn("me", "c1", "user", "hello")
    await store.aclose()
    store = await MemoryStore.open(tmp_path / "data", embedder)
    assert (await store.count("me")) == {"turn": len(FACTS)}
    assert [t.text for t in await store.history("me", "c1", 5)] == ["hello"]
    await store.aclose()


def test_reviews_split_into_passages_of_whole_sentences() -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(60))
    parts = passages(text, max_words=20)
    assert len(parts) > 5
    assert all(p.endswith(".") and len(p.split()) <= 20 for p in parts)
    assert " ".join(parts) == text


@both_engines
async def test_seeds_are_ingested_once_shared_and_read_only(store: Engine) -> None:
    added = await ingest_seeds(store, DEFAULT_SEEDS, progress=False)
    assert added > 10
    assert await ingest_seeds(store, DEFAULT_SEEDS, progress=False) == 0  # content hash: nothing new
    recalled = await store.recall("anyone", "What did reviewers think of Joaquin Phoenix as Theodore?", k=3)
    assert recalled and all(r.memory.user == SHARED for r in recalled)
    with pytest.raises(MemoryError_, match="read-only"):
        await store.forget("anyone", recalled[0].memory.id)
    assert (
        await store.recall("anyone", "What did reviewers think of Joaquin Phoenix?", k=3, shared=False) == []
    )


@both_engines
async def test_listing_by_a_query_without_words_finds_nothing_instead_of_failing(store: Engine) -> None:
    await remember_all(store)
    assert await store.memories("me", query="🇺🇸", kind="reflection") == []
    assert await store.memories("me", query="?!") == []
