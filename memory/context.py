"""A remembered turn in its sitting: which turn memory it follows, and which are beside it.

A turn is often a fragment: "He hates the vet" means little without "I got a puppy, Biscuit" said
just before it, and a question about Biscuit's vet needs both. So each turn memory links to the turn
memory said just before it in the same sitting (`thread_prev`), lexical recall ranks a memory together
with its neighbours (the `memory_context` view and `context_fts`, kept in step by triggers, memory/db.py
migration 4), and recall pulls neighbours in (memory/recall.py). On LoCoMo each of the two added about
4 points of evidence recall@10 (bench/RESULTS.md, LoCoMo retrieval experiments).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

# Two turns further apart than this were said in different sittings: not each other's context.
SAME_SITTING_S = 3600.0


def _seconds(stamp: str) -> float | None:
    try:
        return datetime.fromisoformat(stamp).timestamp()
    except (TypeError, ValueError):
        return None


def previous_turn(conn: sqlite3.Connection, user: str, created_at: str) -> int | None:
    """The user's latest turn memory, if it was said within SAME_SITTING_S of `created_at`."""
    row = conn.execute(
        "SELECT id, created_at FROM memories WHERE user = ? AND kind = 'turn' ORDER BY id DESC LIMIT 1",
        (user,),
    ).fetchone()
    if row is None:
        return None
    then, now = _seconds(row["created_at"]), _seconds(created_at)
    if then is None or now is None or abs(now - then) > SAME_SITTING_S:
        return None
    return int(row["id"])


def pairs(conn: sqlite3.Connection, ids: set[int]) -> set[tuple[int, int]]:
    """(earlier, later) for every link between a current turn memory in `ids` and the turn beside it."""
    if not ids:
        return set()
    marks = ",".join("?" * len(ids))
    rows = conn.execute(
        f"SELECT thread_prev, id FROM memories WHERE (id IN ({marks}) OR thread_prev IN ({marks}))"
        " AND thread_prev IS NOT NULL AND valid_to IS NULL",
        (*ids, *ids),
    ).fetchall()
    return {(int(r[0]), int(r[1])) for r in rows}
