"""Recall: dense (FAISS) and lexical (FTS5/BM25 over each memory in its context) candidates, thresholded,
scored with their neighbouring turns, and de-duplicated."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import datetime
from typing import Any

import numpy as np

from memory import context, scoring
from memory.index import VectorIndex
from memory.models import SHARED, Memory, Recalled
from memory.words import coverage, fts_query, terms

# A recalled passage this close (cosine) to one already chosen adds nothing.
DUPLICATE_COSINE = 0.95
# Film passages support a conversation; they should not crowd out what the person told her.
MAX_SHARED = 2
SEED_IMPORTANCE = 0.3
# At most this many memories matching the query's words are ranked by BM25 (see _lexical).
RANKED_MATCHES = 1000
# Candidates from each side (dense and lexical): a wide pool, since the scoring sorts out the rest
# (LoCoMo recall@10 76.5% with 40, 77.0% with 100, bench/RESULTS.md).
POOL = 100


def to_memory(conn: sqlite3.Connection, row: sqlite3.Row) -> Memory:
    """A Memory from a `memories` row (sources looked up)."""
    sources = tuple(
        r[0] for r in conn.execute("SELECT turn_id FROM memory_sources WHERE memory_id = ?", (row["id"],))
    )
    return Memory(
        id=row["id"],
        user=row["user"],
        kind=row["kind"],
        text=row["text"],
        created_at=row["created_at"],
        importance=row["importance"],
        source=sources,
        valid_to=row["valid_to"],
        fact_key=row["fact_key"],
    )


def _lexical(conn: sqlite3.Connection, scopes: list[str], query: str, limit: int) -> dict[int, float]:
    """The best `limit` memories by BM25 over each memory in its context: id -> BM25 (higher is better)."""
    # BM25 scores every memory matching any word, which grows with the store (~100 ms at 100k memories).
    # So words go in rarest first while the memories they match stay within RANKED_MATCHES; a word more
    # common than that says little about which memory is meant (its IDF is small), and dense recall remains.
    counted = []
    for word in dict.fromkeys(fts_query(query).split(" OR ")):
        if word:
            n = conn.execute(
                "SELECT count(*) FROM (SELECT 1 FROM context_fts WHERE context_fts MATCH ? LIMIT ?)",
                (word, RANKED_MATCHES + 1),
            ).fetchone()[0]
            counted.append((n, word))
    chosen, total = [], 0
    for n, word in sorted(counted):
        if total + n > RANKED_MATCHES:
            break
        chosen.append(word)
        total += n
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


def pool_size(k: int) -> int:
    """How many candidates each side proposes for the best k."""
    return max(POOL, 10 * k)


def lexical_candidates(conn: sqlite3.Connection, scopes: list[str], query: str, k: int) -> dict[int, float]:
    """The lexical side's candidates for the best k: id -> BM25 (it needs no vector, so it can run while
    the question is embedded)."""
    return _lexical(conn, scopes, query, pool_size(k))


def _rows(conn: sqlite3.Connection, ids: set[int], scopes: list[str]) -> dict[int, sqlite3.Row]:
    """The current memories among `ids` in these scopes."""
    if not ids:
        return {}
    # `+user`: look rows up by id; an index on user would make SQLite read all of the user's rows (40 ms
    # at 100k memories instead of 0.6).
    rows = conn.execute(
        f"SELECT * FROM memories WHERE id IN ({','.join('?' * len(ids))})"
        f" AND +user IN ({','.join('?' * len(scopes))}) AND valid_to IS NULL",
        (*ids, *scopes),
    ).fetchall()
    return {int(r["id"]): r for r in rows}


def _relevant(
    conn: sqlite3.Connection, rows: dict[int, sqlite3.Row], dense: dict[int, float], query: str
) -> set[int]:
    """The ids whose relevance reaches the abstention floor. Word coverage is read from the memory in its
    context (what the lexical side ranks), and only where the cosine alone does not decide."""
    floor = {
        i: scoring.MIN_RELEVANCE_SHARED if r["user"] == SHARED else scoring.MIN_RELEVANCE
        for i, r in rows.items()
    }
    passed = {i for i in rows if scoring.relevance(dense[i], 0.0) >= floor[i]}
    undecided = [i for i in rows.keys() - passed if scoring.relevance(dense[i], 1.0) >= floor[i]]
    query_terms = terms(query)
    if not undecided or not query_terms:
        return passed
    texts = dict(
        conn.execute(
            f"SELECT rowid, text FROM context_fts WHERE rowid IN ({','.join('?' * len(undecided))})",
            undecided,
        ).fetchall()
    )
    for i in undecided:
        if scoring.relevance(dense[i], coverage(query_terms, texts.get(i) or rows[i]["text"])) >= floor[i]:
            passed.add(i)
    return passed


def run(
    conn: sqlite3.Connection,
    indexes: dict[str, VectorIndex],
    vector: np.ndarray,
    query: str,
    k: int,
    now: datetime | None = None,
    lexical: dict[int, float] | None = None,
) -> list[Recalled]:
    """Score the candidates of every scope in `indexes` and return the best k (blocking); `lexical`, if
    given, is `lexical_candidates` for the same question (looked up while the question was embedded)."""
    now = now or datetime.now().astimezone()
    pool = pool_size(k)
    candidates: set[int] = set()
    for index in indexes.values():
        candidates.update(i for i, _ in index.search(vector, pool))
    scopes = list(indexes)
    if lexical is None:
        lexical = _lexical(conn, scopes, query, pool)
    candidates.update(lexical)
    rows = _rows(conn, candidates, scopes)
    dense = _dense(rows, vector)
    best_bm25 = max(lexical.values(), default=0.0) or 1.0

    parts: dict[int, tuple[float, float, float, float]] = {}  # dense, lexical, recency, importance
    direct: dict[int, float] = {}
    for i in _relevant(conn, rows, dense, query):
        parts[i] = _parts(rows[i], dense[i], lexical.get(i, 0.0) / best_bm25, now)
        direct[i] = scoring.direct(
            dense=parts[i][0], lexical=parts[i][1], recency_value=parts[i][2], importance=parts[i][3]
        )

    # A turn beside a relevant one is part of the same exchange: it is lifted by it, and may come along.
    beside: dict[int, list[int]] = {}
    for earlier, later in context.pairs(conn, set(direct)):
        beside.setdefault(earlier, []).append(later)
        beside.setdefault(later, []).append(earlier)
    extra = _rows(conn, {j for j in beside if j not in rows}, scopes)
    dense.update(_dense(extra, vector))
    rows.update(extra)
    lift = {  # only current memories: a superseded neighbour is linked but not recalled
        i: max(direct.get(j, 0.0) for j in near) / scoring.DIRECT for i, near in beside.items() if i in rows
    }
    ranked = {
        i: direct.get(i, 0.0) + scoring.W_CONTEXT * lift.get(i, 0.0) for i in direct.keys() | lift.keys()
    }

    chosen: list[int] = []
    vectors: dict[int, np.ndarray] = {}
    shared_count = 0
    for i in sorted(ranked, key=ranked.__getitem__, reverse=True):
        if len(chosen) == k or ranked[i] <= 0:
            break
        vectors[i] = np.frombuffer(rows[i]["embedding"], dtype=np.float32)
        if any(float(vectors[i] @ vectors[j]) >= DUPLICATE_COSINE for j in chosen):
            continue
        if rows[i]["user"] == SHARED:
            if shared_count >= MAX_SHARED:
                continue
            shared_count += 1
        chosen.append(i)
    strengthen(conn, [i for i in chosen if rows[i]["user"] != SHARED], now)
    out = []
    for i in chosen:
        # A turn brought along only as context (no candidate, or below the floor) scores by its context.
        d, lex, fresh, weight = parts.get(i) or _parts(rows[i], dense[i], 0.0, now)
        why = scoring.score(
            dense=d, lexical=lex, recency_value=fresh, importance=weight, context=lift.get(i, 0.0)
        )
        if i not in direct:
            why = replace(why, total=round(ranked[i] / scoring.TOTAL, 4))
        out.append(Recalled(to_memory(conn, rows[i]), why))
    return out


def _dense(rows: dict[int, sqlite3.Row], vector: np.ndarray) -> dict[int, float]:
    """The cosine of each row's stored vector with the query's."""
    if not rows:
        return {}
    matrix = np.frombuffer(b"".join(r["embedding"] for r in rows.values()), dtype=np.float32)
    return dict(zip(rows, (matrix.reshape(len(rows), -1) @ vector).tolist(), strict=True))


def _parts(
    row: sqlite3.Row, dense: float, lexical: float, now: datetime
) -> tuple[float, float, float, float]:
    """A memory's own parts: dense, lexical, recency, importance (seed passages neither fade nor weigh)."""
    if row["user"] == SHARED:
        return dense, lexical, 0.0, SEED_IMPORTANCE
    fresh = scoring.retention(row["created_at"], row["last_recalled"], row["recall_count"], now)
    return dense, lexical, fresh, float(row["importance"])


def strengthen(conn: sqlite3.Connection, ids: list[int], now: datetime) -> None:
    """Recalled memories get stronger: they fade more slowly from now on (MemoryBank's forgetting curve)."""
    if ids:
        conn.execute(
            f"UPDATE memories SET recall_count = recall_count + 1, last_recalled = ?"
            f" WHERE id IN ({','.join('?' * len(ids))})",
            (now.isoformat(timespec="seconds"), *ids),
        )


def export_rows(conn: sqlite3.Connection, user: str) -> list[dict[str, Any]]:
    """Every memory of a user as plain data (no vectors), oldest first."""
    out = []
    for row in conn.execute("SELECT * FROM memories WHERE user = ? ORDER BY id", (user,)).fetchall():
        memory = to_memory(conn, row)
        out.append(
            {
                "id": memory.id,
                "kind": memory.kind,
                "text": memory.text,
                "created_at": memory.created_at,
                "importance": memory.importance,
                "source_turns": list(memory.source),
                "valid_to": memory.valid_to,
                "fact_key": memory.fact_key,
            }
        )
    return out
