"""A question about the past keeps the honest floor; a moment shared may bring up a memory it shares no words
with, and small talk still brings up nothing."""

from __future__ import annotations

import pytest

from memory.store import MemoryStore
from memory.words import asks

LIFE = [
    "I adopted a grey cat called Miso in spring.",
    "My mum had surgery on her knee last month.",
    "I've been learning to play the ukulele.",
    "My sister Anna lives in Lisbon.",
]


@pytest.mark.parametrize(
    "text",
    [
        "What do I do for a living?",
        "what was the name of that cafe",
        "I moved in March, remember?",
        "Do you remember the song I played you",
        "Remind me what my sister's name is.",
        "Ok. Tell me what I said about the trip",
    ],
)
def test_questions_and_requests_to_be_reminded_ask(text: str) -> None:
    assert asks(text)


@pytest.mark.parametrize(
    "text",
    [
        "I'm so nervous I can barely sleep",
        "The little furball knocked my coffee over again.",
        "Have a good night!",
        "ok thanks",
        "Mom called, she can walk without crutches now!",
    ],
)
def test_moments_do_not_ask(text: str) -> None:
    assert not asks(text)


async def test_a_moment_brings_up_the_memory_it_could_enrich(store: MemoryStore) -> None:
    for text in LIFE:
        await store.remember("me", text, kind="turn")
    # No word in common with the cat memory, and a cosine below the question floor (bench/RESULTS.md,
    # "Questions and moments"): as a question this would be "I don't remember".
    recalled = await store.recall("me", "The little furball knocked my coffee over again.", k=3, shared=False)
    assert recalled and "Miso" in recalled[0].memory.text


async def test_small_talk_and_unknown_questions_still_bring_up_nothing(store: MemoryStore) -> None:
    for text in LIFE:
        await store.remember("me", text, kind="turn")
    assert await store.recall("me", "ok thanks", k=3, shared=False) == []
    assert await store.recall("me", "hi", k=3, shared=False) == []
    # A question about something never told keeps the honest floor.
    assert await store.recall("me", "What's the name of my boss?", k=3, shared=False) == []
