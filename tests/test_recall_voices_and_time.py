"""Recall of her own words (below the person's), and of what was said on the days a question names."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from memory.embedder import Embedder
from memory.models import Role, Turn
from memory.recall import RecallConfig
from memory.store import MemoryStore
from memory.turns import turn_memory
from tests.engines import Engine, both_engines


def said(role: Role, text: str, when: str) -> Turn:
    return Turn(0, "me", "c1", role, text, when)


@both_engines
async def test_her_own_words_are_recalled_but_the_persons_win(store: Engine) -> None:
    history = [
        said("user", "Any idea what I could cook tonight?", "2026-11-02T19:00:00+00:00"),
        said("assistant", "Try a lemon risotto: arborio rice, zest, parmesan.", "2026-11-02T19:01:00+00:00"),
        said("user", "My favourite dish is my grandmother's lasagne.", "2026-11-05T12:00:00+00:00"),
        said("assistant", "Your favourite dish is lasagne, how lovely.", "2026-11-05T12:01:00+00:00"),
    ]  # fmt: skip
    await store.remember_batch("me", [turn_memory(t, created_at=t.created_at) for t in history], dedupe=False)

    recalled = await store.recall("me", "What was that risotto recipe you gave me?", k=3)
    assert any("lemon risotto" in r.memory.text for r in recalled[:2])  # beside the question it answered
    recalled = await store.recall("me", "What is my favourite dish?", k=3)
    assert "grandmother's lasagne" in recalled[0].memory.text  # what they said, above her echo of it


async def test_a_question_about_last_weekend_finds_what_was_said_then(
    tmp_path: Path, embedder: Embedder
) -> None:
    config = RecallConfig(w_when=0.3, when_pool=50)
    store = await MemoryStore.open(tmp_path / "data", embedder, recall_config=config)
    try:
        history = [
            said("user", "We went hiking in the hills with Marta.", "2023-04-15T18:00:00+00:00"),
            said("user", "We went to a concert in the old town with Marta.", "2023-05-27T21:00:00+00:00"),
            said("user", "We went swimming at the lake with Marta.", "2023-05-10T17:00:00+00:00"),
        ]
        items = [turn_memory(t, created_at=t.created_at) for t in history]
        await store.remember_batch("me", items, dedupe=False)
        asked = datetime(2023, 5, 30, 20, 0, tzinfo=UTC)
        recalled = await store.recall("me", "What did I do with Marta last weekend?", k=3, now=asked)
        assert "concert" in recalled[0].memory.text
    finally:
        await store.aclose()


async def test_a_day_limit_leaves_room_for_what_was_said_on_other_days(
    tmp_path: Path, embedder: Embedder
) -> None:
    store = await MemoryStore.open(tmp_path / "data", embedder, recall_config=RecallConfig(max_per_day=2))
    try:
        history = [
            said("user", "I bought a red bike today.", "2023-05-01T10:00:00+00:00"),
            said("user", "The bike shop also sold me a helmet.", "2023-05-01T10:01:00+00:00"),
            said("user", "I bought bike lights for the red bike too.", "2023-05-01T10:02:00+00:00"),
            said("user", "I bought a second bike, a blue one, for my daughter.", "2023-05-20T09:00:00+00:00"),
        ]
        await store.remember_batch(
            "me", [turn_memory(t, created_at=t.created_at) for t in history], dedupe=False
        )
        recalled = await store.recall("me", "Which bikes did I buy?", k=3)
        assert any("blue one" in r.memory.text for r in recalled)
        assert sum(r.memory.created_at.startswith("2023-05-01") for r in recalled) == 2
    finally:
        await store.aclose()
