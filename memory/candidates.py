"""Where recall's candidates come from in SQLite: BM25 over each memory in its context (FTS5), rows by id.

memory/recall.py tells the story (why a memory is recalled); this module only looks things up, on a
reader connection, and never writes. It is SQLite's TextSearch (memory/search_base.py); Postgres' is
memory/pg/search.py. `cosines` and `said_between` are plain SQL and serve both engines.
"""

from __future__ import annotations

import sqlite3
from datetime import date

import numpy as np

from memory.words import fts_query


def lexical(
    conn: sqlite3.Connection, scopes: list[str], query: str, limit: int, ranked_matches: int
) -> dict[int, float]:
    """The best `limit` memories by BM25 over each memory in its context: id -> BM25 (higher is better)."""
    # BM25 scores every memory matching any word, which grows with the store (bench/RESULTS.md, turn
    # overhead). So words go in rarest first while the memories they match stay within `ranked_matches`; a
    # word more common than that says little about which memory is meant (its IDF is small), and dense
    # recall remains.
    counted = []
    for word in dict.fromkeys(fts_query(query).split(" OR ")):
        if word:
            n = conn.execute(
                "SELECT count(*) FROM (SELECT 1 FROM context_fts WHERE context_fts MATCH ? LIMIT ?)",
                (word, ranked_matches + 1),
            ).fetchone()[0]
            counted.append((n, word))
    chosen, total = rarest_first(counted, ranked_matches)
    if not total:
        return {}
    # Rank in FTS5 alone first, then read only the best rows: looking up every match's row costs more than
    # ranking them (large rows: each holds its vector). The first `limit` rows of this user that survive
    # are the true top `limit` unless more than `spare` better ones belonged to others or were superseded.
    spare = 4 * limit
    match, marks = " OR ".join(chosen), ",".join("?" * len(scopes))
    ranked = "SELECT rowid AS id, bm25(context_fts) AS b FROM context_fts WHERE context_fts MATCH ?"
    kept = f" f JOIN memories m ON m.id = f.id WHERE m.user IN ({marks}) AND m.valid_to IS NULL"
    kept += " ORDER BY f.b LIMIT ?"
    rows = conn.execute(
        f"SELECT m.id, f.b FROM ({ranked} ORDER BY b LIMIT ?)" + kept, (match, spare, *scopes, limit)
    ).fetchall()
    if len(rows) < limit and total > spare:
        rows = conn.execute(f"SELECT m.id, f.b FROM ({ranked})" + kept, (match, *scopes, limit)).fetchall()
    return {int(r["id"]): -float(r["b"]) for r in rows}


def rarest_first(counted: list[tuple[int, str]], budget: int) -> tuple[list[str], int]:
    """The words to rank by, rarest first, while the memories they match stay within `budget`."""
    chosen, total = [], 0
    for n, word in sorted(counted):
        if total + n > budget:
            break
        chosen.append(word)
        total += n
    return chosen, total


def rows(conn: sqlite3.Connection, ids: set[int], scopes: list[str]) -> dict[int, sqlite3.Row]:
    """The current memories among `ids` in these scopes."""
    if not ids:
        return {}
    # `+user`: look rows up by id; an index on user would make SQLite read all of the user's rows
    # (bench/RESULTS.md, turn overhead).
    found = conn.execute(
        f"SELECT * FROM memories WHERE id IN ({','.join('?' * len(ids))})"
        f" AND +user IN ({','.join('?' * len(scopes))}) AND valid_to IS NULL",
        (*ids, *scopes),
    ).fetchall()
    return {int(r["id"]): r for r in found}


def cosines(found: dict[int, sqlite3.Row], vector: np.ndarray) -> dict[int, float]:
    """The cosine of each row's stored vector with the query's."""
    if not found:
        return {}
    matrix = np.frombuffer(b"".join(r["embedding"] for r in found.values()), dtype=np.float32)
    return dict(zip(found, (matrix.reshape(len(found), -1) @ vector).tolist(), strict=True))


def context_texts(conn: sqlite3.Connection, ids: list[int]) -> dict[int, str]:
    """Each memory's text together with the turns said beside it (what the lexical side ranks)."""
    if not ids:
        return {}
    return dict(
        conn.execute(
            f"SELECT rowid, text FROM context_fts WHERE rowid IN ({','.join('?' * len(ids))})", ids
        ).fetchall()
    )


def said_between(
    conn: sqlite3.Connection, scopes: list[str], start: date, end: date, vector: np.ndarray, limit: int
) -> list[int]:
    """The `limit` current memories made on the days from `start` to `end` nearest in meaning to `vector`."""
    found = conn.execute(
        f"SELECT id, embedding FROM memories WHERE user IN ({','.join('?' * len(scopes))})"
        " AND valid_to IS NULL AND substr(created_at, 1, 10) BETWEEN ? AND ?",
        (*scopes, start.isoformat(), end.isoformat()),
    ).fetchall()
    if not found:
        return []
    matrix = np.frombuffer(b"".join(r["embedding"] for r in found), dtype=np.float32).reshape(len(found), -1)
    best = np.argsort(-(matrix @ vector))[:limit]
    return [int(found[i]["id"]) for i in best]


def said_elsewhere(conn: sqlite3.Connection, user: str, word: str) -> bool:
    """Whether a word (as full-text search stems it) is in any remaining memory of what this user said."""
    # Her own words do not count: a reply of hers repeating a password is a copy of it, not the person
    # saying it elsewhere.
    found = conn.execute(
        "SELECT 1 FROM memories_fts f JOIN memories m ON m.id = f.rowid"
        " WHERE memories_fts MATCH ? AND m.user = ? AND m.hers = 0 LIMIT 1",
        (f'"{word}"', user),
    ).fetchone()
    return found is not None


def matching(query: str) -> tuple[str, str] | None:
    """A condition on `m.id` for memories holding every word of `query`, and its one parameter."""
    match = fts_query(query, any_word=False)
    if not match:  # no words at all (an emoji, punctuation): FTS5 would call an empty query a syntax error
        return None
    return "m.id IN (SELECT rowid FROM memories_fts WHERE memories_fts MATCH ?)", match


def scrub(conn: sqlite3.Connection) -> None:
    """Leave no copy of deleted words in the file: rewrite both full-text indexes into fresh segments."""
    # FTS5 keeps deleted terms in old segments until they merge.
    conn.execute("INSERT INTO memories_fts (memories_fts) VALUES ('optimize')")
    conn.execute("INSERT INTO context_fts (context_fts) VALUES ('optimize')")
