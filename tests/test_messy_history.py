"""A real chat history is messy: repeated messages, empty ones, image placeholders, very long turns."""

from __future__ import annotations

from app.backends.scripted import EchoBackend
from app.learning import learn
from memory.turns import turn_memory
from tests.engines import Engine, both_engines

LONG = (
    "So here is the whole story of the move. " * 120
    + "In the end the piano went to my aunt Rosalind in Galway, and I kept only the metronome."
)
MESSY = [
    "Yeah",
    "Yeah",
    "This message was deleted.",
    "This message was deleted.",
    "",
    "   ",
    "<image omitted>",
    "<image omitted>",
    "(shared an image: a cat asleep on a keyboard)",
    LONG,
    "I finally booked the ferry to Santander for the 14th.",
    "Yeah",
]


@both_engines
async def test_repeated_empty_image_and_long_messages_are_all_kept_live(store: Engine) -> None:
    said = [await store.log_turn("me", "c1", "user", text) for text in MESSY]
    for turn in said:
        await learn(store, EchoBackend(), False, turn)

    history = await store.history("me", "c1", 100)
    assert [t.text for t in history] == MESSY  # every message stays in the log, in order
    backed = {t for m in await store.memories("me", limit=1000) for t in m.source}
    assert {t.id for t in said} <= backed  # every turn, repeats included, is backed by a memory
    recalled = await store.recall("me", "Who got the piano?", k=5)
    assert any("Rosalind" in r.memory.text for r in recalled)  # the end of a very long turn is not cut off
    recalled = await store.recall("me", "When is my ferry to Santander?", k=5)
    assert "14th" in recalled[0].memory.text


@both_engines
async def test_importing_repeats_without_de_duplication_keeps_every_turn(store: Engine) -> None:
    said = [await store.log_turn("me", "c1", "user", text) for text in MESSY]
    # An import writes every turn as evidence (as the benchmarks do): identical words the same day used
    # to fail the whole batch on the unique text index.
    memories = await store.remember_batch("me", [turn_memory(t) for t in said], dedupe=False)
    assert all(m is not None for m in memories)
    yeah = {m.id for m, t in zip(memories, said, strict=True) if m and t.text == "Yeah"}
    assert len(yeah) == 1  # one memory of "Yeah" ...
    stored = {m.id: m for m in await store.memories("me", limit=1000)}
    assert set(stored[yeah.pop()].source) == {
        t.id for t in said if t.text == "Yeah"
    }  # ... backed by all three
    assert {t.id for t in said} <= {t for m in stored.values() for t in m.source}
