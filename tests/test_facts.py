"""Facts about the user: extraction, supersession with history, provenance, importance, forgetting."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app.backends.scripted import ScriptedBackend
from app.fact_model import extract_with_model
from memory.embedder import Embedder
from memory.extract import extract_facts, importance
from memory.models import Recalled
from memory.recall import RecallConfig, retention
from memory.store import MemoryStore
from memory.write import NewMemory
from tests.engines import Engine, both_engines


@pytest.mark.parametrize(
    ("said", "key", "fact"),
    [
        ("My dog is called Biscuit", "dog name", "The user's dog is called Biscuit."),
        ("my dog's name is Rex now", "dog name", "The user's dog is called Rex."),
        ("Hi! I'm Theo. Who are you?", "name", "The user's name is Theo."),
        ("Call me Sam.", "name", "The user's name is Sam."),
        ("I moved to Lisbon last month", "home", "The user lives in Lisbon."),
        ("I work as a nurse at the children's hospital.", "job", "The user works as a nurse."),
        ("I started a new job at Google yesterday", "workplace", "The user started a new job at Google."),
        ("My favourite food is lasagne.", "favourite food", "The user's favourite food is lasagne."),
        ("I'm 34 years old", "age", "The user is 34 years old."),
        ("I really hate mornings", "feeling about mornings", "The user hates mornings."),
        ("My sister Amy lives in Lisbon.", "sister name amy", "The user's sister is called Amy."),
    ],
)
def test_first_person_statements_become_facts(said: str, key: str, fact: str) -> None:
    facts = {f.key: f for f in extract_facts(said)}
    assert key in facts and facts[key].text == fact


@pytest.mark.parametrize(
    "said", ["I'm tired today", "I'm so happy", "What do you think about Her?", "ok", ""]
)
def test_no_fact_is_invented(said: str) -> None:
    assert extract_facts(said) == []


async def test_a_capable_model_is_asked_for_json_and_garbage_falls_back_to_rules() -> None:
    backend = ScriptedBackend(
        [
            'Sure! [{"key": "home city", "fact": "The user lives in Oslo."}]',
            "I am not sure what you mean.",
        ]
    )
    facts = await extract_with_model(backend, "We finally settled in Oslo")
    assert [(f.key, f.text) for f in facts] == [("home city", "The user lives in Oslo.")]
    assert "Extract lasting facts" in backend.prompts[0][0]["content"]
    fallback = await extract_with_model(backend, "My cat is called Pickle")
    assert [f.text for f in fallback] == ["The user's cat is called Pickle."]


def test_importance_favours_people_feelings_and_plans_over_small_talk() -> None:
    small = importance("[2026-11-21] user: ok thanks")
    plain = importance("[2026-11-21] user: the weather was grey all day")
    personal = importance("[2026-11-21] user: My mother is ill and I feel scared, we see the doctor tomorrow")
    assert small < plain < personal <= 1.0


def test_what_keeps_coming_up_fades_more_slowly() -> None:
    now = datetime(2026, 11, 21, 12, 0).astimezone()
    month_ago = (now - timedelta(days=30)).isoformat()
    config = RecallConfig()
    assert retention(now.isoformat(), 0, now, config) == pytest.approx(1.0)
    assert retention(month_ago, 0, now, config) == pytest.approx(0.5)
    assert retention(month_ago, 3, now, config) > 0.8  # recalled three times: stronger
    slow = RecallConfig(half_life_days=60.0)
    assert retention(month_ago, 0, now, slow) == pytest.approx(2**-0.5)


async def tell(store: Engine, conversation: str, said: str) -> int:
    """What the session's learning step does with a message: the turn, and the facts in it."""
    turn = await store.log_turn("me", conversation, "user", said)
    items = [NewMemory(f"[2026-11-21] user: {said}", "turn", 0.5, (turn.id,), embed_text=said)]
    items += [
        NewMemory(f"[2026-11-21] {f.text}", "fact", 0.6, (turn.id,), fact_key=f.key, embed_text=f.said)
        for f in extract_facts(said)
    ]
    await store.remember_batch("me", items)
    return turn.id


@both_engines
async def test_a_newer_fact_supersedes_the_older_but_history_keeps_it(store: Engine) -> None:
    first = await tell(store, "c1", "My dog is called Biscuit.")
    second = await tell(store, "c2", "We adopted a puppy, my dog is called Rex now.")
    recalled = [r.memory.text for r in await store.recall("me", "What is my dog called?", k=5)]
    assert any("The user's dog is called Rex" in t for t in recalled)
    assert not any("Biscuit" in t for t in recalled)  # neither the old fact nor the turn that taught it

    facts = {m.text: m for m in await store.memories("me", kind="fact")}
    old = facts["[2026-11-21] The user's dog is called Biscuit."]
    new = facts["[2026-11-21] The user's dog is called Rex."]
    assert old.valid_to is not None and new.valid_to is None  # history keeps the old fact, dated
    assert old.source == (first,) and new.source == (second,)  # provenance: the turns they came from


@both_engines
async def test_telling_the_old_fact_again_makes_it_current_again(store: Engine) -> None:
    await tell(store, "c1", "I live in Porto.")
    await tell(store, "c1", "I moved to Lisbon.")
    await tell(store, "c1", "I moved back to Porto.")
    current = [m.text for m in await store.memories("me", kind="fact") if m.valid_to is None]
    assert current == ["[2026-11-21] The user lives in Porto."]


@both_engines
async def test_forgetting_a_turn_forgets_what_was_learned_from_it(store: Engine) -> None:
    turn = await tell(store, "c1", "My cat is called Pickle and I live in Oslo.")
    await tell(store, "c1", "I work as a baker.")
    assert len(await store.memories("me", kind="fact")) == 3
    assert await store.forget_turn("me", turn) == 3  # the turn memory and both facts
    assert [m.text for m in await store.memories("me", kind="fact")] == [
        "[2026-11-21] The user works as a baker."
    ]
    assert await store.recall("me", "What is my cat called?", k=5) == []
    assert [t.text for t in await store.history("me", "c1", 10)] == ["I work as a baker."]


@both_engines
async def test_forgetting_a_fact_forgets_the_turn_that_told_it(store: Engine) -> None:
    await tell(store, "c1", "My cat is called Pickle.")
    fact = (await store.memories("me", kind="fact"))[0]
    assert await store.forget("me", fact.id) == 2  # the fact and the turn that said it (issue 12)
    assert await store.memories("me") == [] and await store.history("me", "c1", 10) == []
    assert await store.recall("me", "What is my cat called?", k=5) == []


@both_engines
async def test_recalled_memories_get_stronger(store: Engine) -> None:
    await tell(store, "c1", "My cat is called Pickle.")
    for _ in range(3):
        recalled = await store.recall("me", "What is my cat called?", k=2)
    assert all(r["recall_count"] == 3 and r["last_recalled"] for r in traces(store, recalled))


async def test_a_recall_config_can_leave_no_trace(tmp_path: Path, embedder: Embedder) -> None:
    store = await MemoryStore.open(tmp_path / "data", embedder, recall_config=RecallConfig(strengthen=False))
    await tell(store, "c1", "My cat is called Pickle.")
    recalled = await store.recall("me", "What is my cat called?", k=2)
    assert recalled and all(r["recall_count"] == 0 for r in traces(store, recalled))
    await store.aclose()


def traces(store: Engine, recalled: list[Recalled]) -> list[Any]:
    """The recall counts of these memories, once the last strengthening was written."""
    store._settle("me")
    marks = ",".join(str(r.memory.id) for r in recalled)
    sql = f"SELECT recall_count, last_recalled FROM memories WHERE id IN ({marks})"
    return store._db.read(lambda conn: conn.execute(sql).fetchall())
