"""The recommended recall recipe on the real store: a sketch of the port into memory/, run by the benchmark.

`.venv/bin/python -m bench.locomo --recipe` ingests and asks through RecipeStore instead of MemoryStore.

Write: a turn is embedded as `Speaker said, "text"` (who said it, not the date), and the turn in its
context (the previous turn, itself and the next turn of the same session) goes into a second FTS5 table.
Recall: candidates are the POOL nearest by cosine (FAISS) and the POOL best by BM25 over the context
table; each scores  cosine + W_BM25 x bm25 / best bm25 of the query  (+ the product's recency and
importance terms), or 0 below the product's relevance floor (its word coverage read from the context);
then every candidate and every adjacent turn gains NEIGHBOUR x the best score of an adjacent turn (id +- 1,
same user, kind turn, within an hour). Near-duplicates are skipped and seeds capped as in memory.recall.run.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from bench.locomo_data import LocomoTurn, new_memory
from memory import recall, scoring
from memory.embedder import Embedder
from memory.index import VectorIndex
from memory.models import SHARED, Memory, Recalled, Score
from memory.store import MemoryStore
from memory.write import NewMemory

POOL = 100  # candidates from each side (at least 10 x k)
W_BM25 = 0.8
NEIGHBOUR = 0.5
SAME_SESSION_S = 3600.0  # adjacent turns further apart than this are not each other's context
# cosine + W_BM25 + recency + importance, then x (1 + NEIGHBOUR): maps the total into [0, 1]
MAX_TOTAL = (1.0 + W_BM25 + scoring.W_RECENCY + scoring.W_IMPORTANCE) * (1.0 + NEIGHBOUR)


def quoted(t: LocomoTurn) -> str:
    """What is embedded: who said what (and the image they shared)."""
    text = " ".join(t.text.split())
    return f'{t.speaker} said, "{text}"' + (f" and shared {t.caption}." if t.caption else "")


def windows(turns: Sequence[LocomoTurn], before: int = 1, after: int = 1) -> list[str]:
    """Each turn with its neighbours of the same session, quoted, in order."""
    out = []
    for i, t in enumerate(turns):
        span = range(max(0, i - before), min(len(turns), i + after + 1))
        out.append(" ".join(quoted(turns[j]) for j in span if turns[j].when == t.when))
    return out


@dataclass(frozen=True)
class ContextMemory(NewMemory):
    """A memory with the text its lexical search reads (the turn in its context)."""

    context: str = ""


def items(turns: Sequence[LocomoTurn]) -> list[NewMemory]:
    """The product's items for these turns, embedded as quoted, with their context windows."""
    out: list[NewMemory] = []
    for t, context in zip(turns, windows(turns), strict=True):
        base = new_memory(t)
        out.append(
            ContextMemory(
                base.text,
                base.kind,
                base.importance,
                created_at=base.created_at,
                embed_text=quoted(t),
                context=context,
            )
        )
    return out


class RecipeStore(MemoryStore):
    """MemoryStore with the recipe's write extras and recall (bench only; see the module docstring)."""

    def __init__(self, data_dir: Path, embedder: Embedder) -> None:
        super().__init__(data_dir, embedder)
        with self._lock:
            self._conn.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS context_fts"
                " USING fts5 (text, tokenize='porter unicode61')"
            )

    def add_batch(
        self, user: str, items: Sequence[NewMemory], *, vectors: np.ndarray | None = None, dedupe: bool = True
    ) -> list[Memory | None]:
        out = super().add_batch(user, items, vectors=vectors, dedupe=dedupe)
        rows = [
            (m.id, item.context if isinstance(item, ContextMemory) else item.text)
            for m, item in zip(out, items, strict=True)
            if m is not None
        ]
        with self._tx() as c:
            c.executemany("INSERT INTO context_fts (rowid, text) VALUES (?, ?)", rows)
        return out

    def _recall(self, user: str, query: str, k: int, shared: bool) -> list[Recalled]:
        vector = self.embedder.embed([query])[0]
        scopes = [user, SHARED] if shared else [user]
        with self._lock:
            return run(self._conn, {s: self.index(s) for s in scopes}, vector, query, k)


def _bm25(conn: sqlite3.Connection, scopes: list[str], query: str, limit: int) -> dict[int, float]:
    match = recall.fts_query(query)
    if not match:
        return {}
    rows = conn.execute(
        "SELECT m.id, -bm25(context_fts) AS b FROM context_fts JOIN memories m ON m.id = context_fts.rowid"
        f" WHERE context_fts MATCH ? AND m.user IN ({','.join('?' * len(scopes))}) AND m.valid_to IS NULL"
        " ORDER BY bm25(context_fts) LIMIT ?",
        (match, *scopes, limit),
    ).fetchall()
    return {int(r[0]): float(r[1]) for r in rows}


def _rows(conn: sqlite3.Connection, ids: set[int], scopes: list[str]) -> dict[int, sqlite3.Row]:
    if not ids:
        return {}
    rows = conn.execute(
        f"SELECT * FROM memories WHERE id IN ({','.join('?' * len(ids))})"
        f" AND user IN ({','.join('?' * len(scopes))}) AND valid_to IS NULL",
        (*ids, *scopes),
    ).fetchall()
    return {int(r["id"]): r for r in rows}


def _when(row: sqlite3.Row) -> float | None:
    try:
        return datetime.fromisoformat(row["created_at"]).timestamp()
    except (TypeError, ValueError):
        return None


@functools.lru_cache(maxsize=1 << 16)
def _terms(text: str) -> frozenset[str]:
    """A memory's content words, kept: its text never changes (the port could store them with the row)."""
    return frozenset(recall.terms(text))


def _relevant(
    conn: sqlite3.Connection, rows: dict[int, sqlite3.Row], ids: set[int], dense: dict[int, float], query: str
) -> set[int]:
    """The ids that pass the product's abstention floor on relevance (0.75 cosine + 0.25 word coverage),
    the coverage read from the turn in its context (the text the lexical side ranks). Coverage (costly: it
    stems the text) is only computed where the cosine alone does not decide."""
    floor = {
        i: scoring.MIN_RELEVANCE_SHARED if rows[i]["user"] == SHARED else scoring.MIN_RELEVANCE for i in ids
    }
    passed = {i for i in ids if scoring.W_DENSE * dense[i] >= floor[i]}
    undecided = [i for i in ids - passed if scoring.W_DENSE * dense[i] + scoring.W_LEXICAL >= floor[i]]
    query_terms = recall.terms(query)
    if not undecided or not query_terms:
        return passed
    texts = dict(
        conn.execute(
            f"SELECT rowid, text FROM context_fts WHERE rowid IN ({','.join('?' * len(undecided))})",
            undecided,
        ).fetchall()
    )
    for i in undecided:
        cover = len(query_terms & _terms(texts.get(i) or rows[i]["text"])) / len(query_terms)
        if scoring.W_DENSE * dense[i] + scoring.W_LEXICAL * cover >= floor[i]:
            passed.add(i)
    return passed


def run(
    conn: sqlite3.Connection, indexes: dict[str, VectorIndex], vector: np.ndarray, query: str, k: int
) -> list[Recalled]:
    """The recipe's best k (blocking); the counterpart of memory.recall.run."""
    now = datetime.now().astimezone()
    pool = max(POOL, 10 * k)
    scopes = list(indexes)
    candidates: set[int] = set()
    for index in indexes.values():
        candidates.update(i for i, _ in index.search(vector, pool))
    lexical = _bm25(conn, scopes, query, pool)
    candidates.update(lexical)
    # Candidates and the turns beside them, in one read.
    rows = _rows(conn, candidates | {i + d for i in candidates for d in (-1, 1)}, scopes)
    if not rows:
        return []
    ids = list(rows)
    matrix = np.vstack([np.frombuffer(rows[i]["embedding"], dtype=np.float32) for i in ids])
    dense = dict(zip(ids, np.clip(matrix @ vector, 0.0, 1.0).tolist(), strict=True))
    vectors = dict(zip(ids, matrix, strict=True))
    best_bm25 = max(lexical.values(), default=0.0) or 1.0

    direct: dict[int, float] = {}
    fresh: dict[int, float] = {}
    for i in _relevant(conn, rows, candidates & rows.keys(), dense, query):
        row = rows[i]
        shared = row["user"] == SHARED
        fresh[i] = (
            0.0
            if shared
            else scoring.retention(row["created_at"], row["last_recalled"], row["recall_count"], now)
        )
        weight = recall.SEED_IMPORTANCE if shared else float(row["importance"])
        direct[i] = (
            dense[i]
            + W_BM25 * lexical.get(i, 0.0) / best_bm25
            + scoring.W_RECENCY * fresh[i]
            + scoring.W_IMPORTANCE * weight
        )
    when = {i: _when(rows[i]) for i in ids}

    def beside(i: int, j: int) -> float:
        a, b = rows[i], rows.get(j)
        if (
            j not in direct
            or b is None
            or a["kind"] != "turn"
            or b["kind"] != "turn"
            or a["user"] != b["user"]
        ):
            return 0.0
        ta, tb = when[i], when[j]
        return direct[j] if ta is not None and tb is not None and abs(ta - tb) <= SAME_SESSION_S else 0.0

    total = {i: direct.get(i, 0.0) + NEIGHBOUR * max(beside(i, i - 1), beside(i, i + 1)) for i in ids}

    chosen: list[int] = []
    shared_count = 0
    for i in sorted(total, key=lambda j: total[j], reverse=True):
        if len(chosen) == k or total[i] <= 0:
            break
        if any(float(vectors[i] @ vectors[j]) >= recall.DUPLICATE_COSINE for j in chosen):
            continue
        if rows[i]["user"] == SHARED:
            if shared_count >= recall.MAX_SHARED:
                continue
            shared_count += 1
        chosen.append(i)
    recall.strengthen(conn, [i for i in chosen if rows[i]["user"] != SHARED], now)
    out = []
    for i in chosen:
        row = rows[i]
        weight = recall.SEED_IMPORTANCE if row["user"] == SHARED else float(row["importance"])
        parts = (dense[i], lexical.get(i, 0.0) / best_bm25, fresh.get(i, 0.0), weight)
        score = Score(round(min(1.0, total[i] / MAX_TOTAL), 4), *(round(p, 4) for p in parts))
        out.append(Recalled(recall.to_memory(conn, row), score))
    return out
