"""A remembered turn in its sitting: neighbours lift and join recall, forgetting leaves no trace in them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from memory import db
from memory.models import Turn
from memory.turns import turn_memory
from tests.engines import Engine, both_engines, context_texts

# Two things said one after the other: the second only makes sense with the first.
LADDER = "My neighbour Priya lent me her ladder for the gutters."
CHOCOLATES = "I gave it back yesterday with a big box of chocolates."
OTHER = [
    "My dog is called Biscuit and he loves the beach.",
    "I work as a nurse at the children's hospital.",
    "I'm learning to play the cello, slowly.",
]


async def say(store: Engine, text: str, when: str, user: str = "me") -> int:
    """Log a turn and remember it as the session does; returns the memory id."""
    turn = await store.log_turn(user, "c1", "user", text)
    dated = Turn(turn.id, user, "c1", "user", text, when)
    [memory] = await store.remember_batch(user, [turn_memory(dated, created_at=when)])
    assert memory is not None
    return memory.id


@both_engines
async def test_a_turn_said_beside_a_match_is_lifted_and_recalled(store: Engine) -> None:
    for text in OTHER:
        await say(store, text, "2026-11-01T09:00:00+00:00")
    await say(store, LADDER, "2026-11-20T18:00:00+00:00")
    chocolates = await say(store, CHOCOLATES, "2026-11-20T18:01:00+00:00")
    recalled = await store.recall("me", "What did Priya get when I returned her ladder?", k=3)
    by_id = {r.memory.id: r for r in recalled}
    assert chocolates in by_id, [r.memory.text for r in recalled]
    assert by_id[chocolates].score.context > 0
    assert "box of chocolates" in by_id[chocolates].memory.text


@both_engines
async def test_turns_of_different_sittings_are_not_each_others_context(store: Engine) -> None:
    await say(store, LADDER, "2026-11-18T18:00:00+00:00")
    await say(store, CHOCOLATES, "2026-11-20T18:00:00+00:00")  # two days later: a new sitting
    recalled = await store.recall("me", "What did Priya get when I returned her ladder?", k=3)
    assert all(r.score.context == 0 for r in recalled)
    assert not any("Priya" in t and "chocolates" in t for t in context_texts(store))


@both_engines
async def test_forgetting_a_turn_takes_its_words_out_of_its_neighbours(store: Engine) -> None:
    market = await say(store, "I love the spice market in Zanzibar.", "2026-11-20T18:00:00+00:00")
    await say(store, "We go there every spring with my sister.", "2026-11-20T18:01:00+00:00")
    before = await store.recall("me", "zanzibar", k=5)
    assert any("every spring" in r.memory.text and r.score.lexical > 0 for r in before)
    assert await store.forget("me", market) == 1
    after = await store.recall("me", "zanzibar", k=5)
    assert not any(r.score.lexical > 0 for r in after)
    assert not any("zanzibar" in t.lower() for t in context_texts(store))


@both_engines
async def test_forgetting_the_middle_turn_joins_its_neighbours(store: Engine) -> None:
    first = await say(store, "I planted tomatoes on the balcony.", "2026-11-20T18:00:00+00:00")
    middle = await say(store, "Also some basil and mint.", "2026-11-20T18:01:00+00:00")
    last = await say(store, "The pigeons keep eating the seedlings.", "2026-11-20T18:02:00+00:00")
    await store.forget("me", middle)
    sql = "SELECT thread_prev FROM memories WHERE id = ?"
    follows = store._db.read(lambda c: c.execute(sql, (last,)).fetchone()[0])
    assert follows == first
    assert not any("basil" in t for t in context_texts(store))
    assert any("tomatoes" in t and "pigeons" in t for t in context_texts(store))


@both_engines
async def test_deleting_a_user_leaves_no_context_behind(store: Engine) -> None:
    await say(store, LADDER, "2026-11-20T18:00:00+00:00", user="ana")
    await say(store, CHOCOLATES, "2026-11-20T18:01:00+00:00", user="ana")
    await store.forget_user("ana")
    assert context_texts(store) == []


def test_an_older_database_gets_its_turns_linked_on_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    for number, script in enumerate(db.MIGRATIONS[:3]):
        conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number + 1};\nCOMMIT;")
    rows = [
        ("[2026-11-20] user: " + LADDER, "2026-11-20T18:00:00+00:00"),
        ("[2026-11-20] user: " + CHOCOLATES, "2026-11-20T18:01:00+00:00"),
        ("[2026-11-23] user: Rainy Monday.", "2026-11-23T08:00:00+00:00"),
    ]
    for i, (text, when) in enumerate(rows):
        conn.execute(
            "INSERT INTO memories (user, kind, text, created_at, content_hash, embedding)"
            " VALUES ('me', 'turn', ?, ?, ?, x'00')",
            (text, when, str(i)),
        )
    conn.close()
    conn = db.connect(path)
    links = [tuple(r) for r in conn.execute("SELECT id, thread_prev FROM memories ORDER BY id")]
    assert links == [(1, None), (2, 1), (3, None)]  # the third was said days later
    contexts = dict(conn.execute("SELECT rowid, text FROM context_fts").fetchall())
    assert "ladder" in contexts[2] and "chocolates" in contexts[1] and "ladder" not in contexts[3]
    conn.close()
