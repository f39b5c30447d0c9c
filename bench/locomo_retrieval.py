"""Retrieval designs the product does not have, for the LoCoMo experiments: scored in numpy + SQLite FTS5.

Each is a Recipe: which embedded text, how dense and lexical (BM25) evidence are fused (rank fusion, BM25
alone, dense alone...), and what is propagated between turns. Everything is generic (no names, no
question patterns); the lexical side uses the product's own FTS5 tokenizer and query builder
(memory.words). The product itself is never copied here: bench/locomo_experiments.py runs its variants
through the product's recall (memory/recall.py) with other RecallConfigs.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from memory.words import fts_query, terms


@dataclass(frozen=True)
class Recipe:
    """How to rank one conversation's turns for a query. Scores: higher is closer."""

    name: str
    formats: tuple[str, ...] = ("said",)  # embedded texts; a turn's dense score is the max over them
    fusion: str = "linear"  # "dense" | "bm25" | "rrf" | "linear"
    w_dense: float = 1.0
    w_lexical: float = 1.0  # BM25 (divided by the best BM25 of the query) in "linear"; rank weight in "rrf"
    w_coverage: float = 0.0  # share of the query's content words the stored text holds (product's measure)
    w_importance: float = 0.0
    rrf_k: float = 60.0
    pool: int = 0  # candidates per retriever (0: every turn)
    lexical_text: str = "stored"  # which text FTS5 indexes (and coverage reads)
    neighbour: float = 0.0  # add this fraction of the best adjacent turn's score (same session)
    neighbour_span: int = 1
    prf: float = 0.0  # pseudo-relevance feedback: q += prf * mean of the top prf_m dense hits
    prf_m: int = 3
    session: float = 0.0  # add this fraction of the turn's session's best score
    min_relevance: float = -1.0  # drop candidates below this relevance (0.75 cosine + 0.25 coverage)
    floor_text: str = "stored"  # the text whose word coverage that relevance reads


class Corpus:
    """One conversation: per-format turn vectors, FTS5 tables per lexical text, session of each turn."""

    def __init__(
        self,
        vectors: dict[str, np.ndarray],
        lexical: dict[str, Sequence[str]],
        session: np.ndarray,
        importance: np.ndarray,
    ):
        self.vectors = vectors
        self.session = session
        self.importance = importance
        self.n = len(session)
        self.terms = {name: [terms(t) for t in texts] for name, texts in lexical.items()}
        self.conn = sqlite3.connect(":memory:", check_same_thread=False)
        for name, texts in lexical.items():
            self.conn.execute(
                f"CREATE VIRTUAL TABLE fts_{name} USING fts5 (text, tokenize='porter unicode61')"
            )
            self.conn.executemany(
                f"INSERT INTO fts_{name} (rowid, text) VALUES (?, ?)", [(i, t) for i, t in enumerate(texts)]
            )

    def bm25(self, name: str, query: str) -> np.ndarray:
        """Positive BM25 per turn (0 where no query word matches), the product's OR-of-content-words query."""
        out = np.zeros(self.n, dtype=np.float32)
        match = fts_query(query)
        if not match:
            return out
        rows = self.conn.execute(
            f"SELECT rowid, bm25(fts_{name}) FROM fts_{name} WHERE fts_{name} MATCH ?", (match,)
        )
        for rowid, b in rows:
            out[rowid] = -b
        return out

    def coverage(self, name: str, query: str) -> np.ndarray:
        """memory.words.coverage for every turn: the share of the query's content words present."""
        wanted = terms(query)
        if not wanted:
            return np.zeros(self.n, dtype=np.float32)
        return np.array([len(wanted & t) / len(wanted) for t in self.terms[name]], dtype=np.float32)


def _ranks(scores: np.ndarray, present: np.ndarray) -> np.ndarray:
    """1-based rank of every turn by score (ties broken by position); inf where not `present`."""
    order = np.argsort(-scores, kind="stable")
    ranks = np.empty(len(scores), dtype=np.float64)
    ranks[order] = np.arange(1, len(scores) + 1)
    ranks[~present] = np.inf
    return ranks


def _top(scores: np.ndarray, pool: int) -> np.ndarray:
    """Mask of the `pool` best (all when pool is 0)."""
    if pool <= 0 or pool >= len(scores):
        return np.ones(len(scores), dtype=bool)
    mask = np.zeros(len(scores), dtype=bool)
    mask[np.argpartition(-scores, pool - 1)[:pool]] = True
    return mask


def dense_scores(corpus: Corpus, recipe: Recipe, qvec: np.ndarray) -> np.ndarray:
    best = np.full(corpus.n, -np.inf, dtype=np.float32)
    for fmt in recipe.formats:
        q = qvec
        if recipe.prf:
            first = corpus.vectors[fmt] @ q
            top = np.argpartition(-first, recipe.prf_m - 1)[: recipe.prf_m]
            q = q + recipe.prf * corpus.vectors[fmt][top].mean(axis=0)
            q = q / np.linalg.norm(q)
        best = np.maximum(best, corpus.vectors[fmt] @ q)
    return best


def propagate(corpus: Corpus, scores: np.ndarray, beta: float, span: int) -> np.ndarray:
    """Add beta x the best score among turns within `span` positions in the same session."""
    best_near = np.zeros_like(scores)
    for d in range(1, span + 1):
        for shift in (d, -d):
            moved = np.roll(scores, shift)
            same = np.roll(corpus.session, shift) == corpus.session
            if shift > 0:
                same[:shift] = False
            else:
                same[shift:] = False
            best_near = np.maximum(best_near, np.where(same, moved, 0.0))
    return scores + beta * best_near


def session_boost(corpus: Corpus, scores: np.ndarray, gamma: float) -> np.ndarray:
    best = np.zeros(int(corpus.session.max()) + 1)
    np.maximum.at(best, corpus.session, scores)
    out: np.ndarray = scores + gamma * best[corpus.session]
    return out


def rank(corpus: Corpus, recipe: Recipe, query: str, qvec: np.ndarray, k: int) -> list[int]:
    """The k best turn positions for the query under the recipe."""
    dense = dense_scores(corpus, recipe, qvec)
    if recipe.fusion == "dense":
        scores = dense.astype(np.float64) + 2.0
    else:
        lexical = corpus.bm25(recipe.lexical_text, query)
        if recipe.fusion == "bm25":
            scores = lexical + 1e-6 * (dense + 2.0)
        elif recipe.fusion == "rrf":
            d_ranks = _ranks(dense, _top(dense, recipe.pool))
            l_ranks = _ranks(lexical, _top(lexical, recipe.pool) & (lexical > 0))
            scores = recipe.w_dense / (recipe.rrf_k + d_ranks) + recipe.w_lexical / (recipe.rrf_k + l_ranks)
        elif recipe.fusion == "linear":
            best = float(lexical.max()) or 1.0
            scores = recipe.w_dense * np.clip(dense, 0, 1) + recipe.w_lexical * lexical / best
            if recipe.w_coverage:
                scores = scores + recipe.w_coverage * corpus.coverage(recipe.lexical_text, query)
            if recipe.w_importance:
                scores = scores + recipe.w_importance * corpus.importance
            keep = _top(dense, recipe.pool) | (_top(lexical, recipe.pool) & (lexical > 0))
            if recipe.min_relevance > -1:  # the product's abstention floor, on its own relevance measure
                cover = corpus.coverage(recipe.floor_text, query)
                keep &= 0.75 * np.clip(dense, 0, 1) + 0.25 * cover >= recipe.min_relevance
            scores = np.where(keep, scores, 0.0)
        else:
            raise ValueError(f"unknown fusion {recipe.fusion!r}")
    if recipe.neighbour:
        scores = propagate(corpus, scores, recipe.neighbour, recipe.neighbour_span)
    if recipe.session:
        scores = session_boost(corpus, scores, recipe.session)
    order = np.argsort(-scores, kind="stable")[:k]
    return [int(i) for i in order if scores[i] > 0]
