"""A long message is remembered passage by passage, and her replies are remembered too."""

from __future__ import annotations

from typing import Any

from app.backends.scripted import ScriptedBackend
from memory.models import Turn
from memory.passages import PASSAGE_WORDS, passages
from memory.store import MemoryStore
from memory.turns import turn_memories

RAMBLE = (
    "I spent the whole weekend reorganising the flat, which took far longer than I expected. "
    "The kitchen cupboards were a disaster, full of tins I had forgotten about and spices from years ago. "
    "I finally threw out the broken blender and the chipped mugs nobody uses. "
    "Then I moved the bookshelf into the hallway so the living room feels bigger and brighter. "
    "By the way, I got pre-approved for a mortgage of three hundred and fifty thousand from my bank. "
    "After that I cleaned the windows, hung the new curtains and watered every plant on the balcony."
)


def test_a_short_message_is_one_passage_and_a_long_one_keeps_every_word_in_order() -> None:
    assert passages("I adopted a grey cat called Miso.") == ["I adopted a grey cat called Miso."]
    parts = passages(RAMBLE)
    assert len(parts) > 1
    assert " ".join(parts).split() == RAMBLE.split()
    assert all(len(p.split()) <= PASSAGE_WORDS + PASSAGE_WORDS // 4 for p in parts)
    # Someone who never uses a full stop still gets passages.
    assert len(passages(" ".join(["word"] * 200))) > 1


async def test_news_said_in_passing_is_found_as_its_own_passage(store: MemoryStore) -> None:
    said = Turn(0, "me", "c1", "user", RAMBLE, "2026-11-20T10:00:00+00:00")
    items = turn_memories(said, created_at=said.created_at)
    await store.remember_batch("me", items, dedupe=False)
    recalled = await store.recall("me", "How much was my mortgage pre-approval?", k=2, shared=False)
    assert "pre-approved for a mortgage" in recalled[0].memory.text
    assert "kitchen cupboards" not in recalled[0].memory.text  # the passage, not the whole ramble


async def test_her_reply_is_remembered_and_recalled_below_what_the_person_said(make_server: Any) -> None:
    recipe = "Try a lemon risotto: arborio rice, lemon zest, a little white wine and lots of parmesan."
    backend = ScriptedBackend([recipe, "Of course.", "Here it is again."])
    server = await make_server(backend)
    chat = await server.chat("kitchen")
    await chat.turn("Any idea what I could cook tonight?")
    await chat.turn("Thanks, that sounds lovely.")
    later = await server.chat("later")
    frames = await later.turn("What was that risotto recipe you gave me?")
    recalled = [m["text"] for m in frames[0]["memories"]]
    assert any("assistant: Try a lemon risotto" in text for text in recalled), recalled
