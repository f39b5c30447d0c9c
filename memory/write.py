"""Writing and deleting memory rows: plain SQL inside the caller's transaction, the index kept in step."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from memory import context
from memory.models import Kind, Memory
from memory.rows import to_memory
from memory.search_base import NearestIndex

# A new memory this close (cosine) to an existing one of the same user says nothing new.
NEAR_DUPLICATE = 0.97


@dataclass(frozen=True)
class NewMemory:
    """What to remember. A `fact_key` makes it a fact that supersedes the current fact of that key."""

    text: str
    kind: Kind
    importance: float = 0.5
    sources: tuple[int, ...] = ()
    created_at: str | None = None
    fact_key: str | None = None
    embed_text: str | None = None  # what retrieval matches on, when it differs from the stored text
    hers: bool = False  # her own words (a reply of hers), not the person's


def content_hash(text: str) -> str:
    """Identity of a memory's text, so the same thing is stored once."""
    return hashlib.sha256(" ".join(text.split()).lower().encode()).hexdigest()


def _link(conn: sqlite3.Connection, memory_id: int, sources: Sequence[int]) -> None:
    conn.executemany(
        "INSERT OR IGNORE INTO memory_sources (memory_id, turn_id) VALUES (?, ?)",
        [(memory_id, t) for t in sources],
    )


def _supersede(conn: sqlite3.Connection, user: str, item: NewMemory, stamp: str) -> Memory | bool | None:
    """Retire the current fact of the same key. Returns None if the new fact is already current, the old
    row revived if the same fact was once superseded, or True to go on and insert."""
    digest = content_hash(item.text)
    same = conn.execute(
        "SELECT id, valid_to FROM memories WHERE user = ? AND kind = ? AND content_hash = ?",
        (user, item.kind, digest),
    ).fetchone()
    if same is not None and same["valid_to"] is None:
        _link(conn, same["id"], item.sources)  # said again: one more turn backs it
        return None
    # What the person said back then goes out of recall with the fact it taught ("I live in Porto" once
    # they moved to Lisbon); both stay in the history with their valid-to date.
    # (`IN ()` is SQLite's alone: without sources, no turn of the new fact is spared.)
    marks = ",".join("?" * len(item.sources))
    spared = f" AND id NOT IN (SELECT memory_id FROM memory_sources WHERE turn_id IN ({marks}))"
    spared = spared if item.sources else ""
    conn.execute(
        "UPDATE memories SET valid_to = ? WHERE user = ? AND kind = 'turn' AND valid_to IS NULL AND id IN ("
        " SELECT s2.memory_id FROM memory_sources s1 JOIN memory_sources s2 ON s2.turn_id = s1.turn_id"
        " JOIN memories old ON old.id = s1.memory_id"
        " WHERE old.user = ? AND old.fact_key = ? AND old.valid_to IS NULL)" + spared,
        (stamp, user, user, item.fact_key, *item.sources),
    )
    conn.execute(
        "UPDATE memories SET valid_to = ? WHERE user = ? AND fact_key = ? AND valid_to IS NULL",
        (stamp, user, item.fact_key),
    )
    if same is None:
        return True
    # Back to an earlier truth ("Biscuit" again after "Rex"): the old fact becomes current once more.
    conn.execute(
        "UPDATE memories SET valid_to = NULL, created_at = ?, fact_key = ? WHERE id = ?",
        (stamp, item.fact_key, same["id"]),
    )
    _link(conn, same["id"], item.sources)
    return Memory(same["id"], user, item.kind, item.text, stamp, item.importance, item.sources)


def insert(
    conn: sqlite3.Connection,
    index: NearestIndex,
    user: str,
    items: Sequence[NewMemory],
    vectors: np.ndarray,
    *,
    stamp: str,
    dedupe: bool = True,
) -> list[Memory | None]:
    """Insert memories for one user; None marks one skipped as a duplicate."""
    learned_from = sorted({t for item in items for t in item.sources})
    if learned_from:  # in the same transaction: a turn is learned exactly when its memories are stored
        conn.execute(
            f"UPDATE turns SET learned = 1 WHERE user = ? AND id IN ({','.join('?' * len(learned_from))})",
            (user, *learned_from),
        )
    out: list[Memory | None] = []
    for item, vector in zip(items, vectors, strict=True):
        if item.fact_key is not None:
            outcome = _supersede(conn, user, item, stamp)
            if outcome is None or isinstance(outcome, Memory):
                out.append(outcome)
                continue
        else:
            # The same words said again the same day (a "Yeah", a "This message was deleted."): one memory,
            # backed by one more turn, so nothing said is lost and the unique text index holds.
            same = same_text(conn, user, item)
            if same is not None:
                _link(conn, same["id"], item.sources)
                out.append(None if dedupe else to_memory(conn, same))
                continue
            if dedupe and is_duplicate(conn, index, user, item, vector):
                out.append(None)
                continue
        when = item.created_at or stamp
        # A turn follows the one said just before it in the same sitting (see memory/context.py).
        follows = context.previous_turn(conn, user, when) if item.kind == "turn" else None
        cur = conn.execute(
            "INSERT INTO memories (user, kind, text, created_at, importance, content_hash, embedding,"
            " fact_key, thread_prev, hers) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                user,
                item.kind,
                item.text,
                when,
                item.importance,
                content_hash(item.text),
                vector.tobytes(),
                item.fact_key,
                follows,
                int(item.hers),
            ),
        )
        memory_id = int(cur.lastrowid or 0)
        _link(conn, memory_id, item.sources)
        # Added one by one, so later items of the same batch are de-duplicated against this one.
        index.add(np.array([memory_id], dtype=np.int64), vector.reshape(1, -1))
        out.append(Memory(memory_id, user, item.kind, item.text, when, item.importance, item.sources))
    return out


def same_text(conn: sqlite3.Connection, user: str, item: NewMemory) -> sqlite3.Row | None:
    """The user's stored memory of the same kind with the same text (whitespace and case aside), if any."""
    return conn.execute(
        "SELECT * FROM memories WHERE user = ? AND kind = ? AND content_hash = ?",
        (user, item.kind, content_hash(item.text)),
    ).fetchone()


def is_duplicate(
    conn: sqlite3.Connection, index: NearestIndex, user: str, item: NewMemory, vector: np.ndarray
) -> bool:
    """Same text already stored for this user, or a near-identical one (cosine >= NEAR_DUPLICATE)."""
    if same_text(conn, user, item) is not None:
        return True
    nearest = index.search(vector, 1)
    return bool(nearest and nearest[0][1] >= NEAR_DUPLICATE)


def delete_turns(conn: sqlite3.Connection, user: str, turn_ids: Sequence[int]) -> list[int]:
    """Delete turns from the log and every memory learned from them; returns the memory ids removed."""
    if not turn_ids:
        return []
    marks = ",".join("?" * len(turn_ids))
    doomed = [
        r[0]
        for r in conn.execute(
            f"SELECT DISTINCT s.memory_id FROM memory_sources s JOIN memories m ON m.id = s.memory_id"
            f" WHERE m.user = ? AND s.turn_id IN ({marks})",
            (user, *turn_ids),
        )
    ]
    if doomed:
        conn.execute(
            f"DELETE FROM memories WHERE user = ? AND id IN ({','.join('?' * len(doomed))})", (user, *doomed)
        )
    conn.execute(f"DELETE FROM turns WHERE user = ? AND id IN ({marks})", (user, *turn_ids))
    return doomed
