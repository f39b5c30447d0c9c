"""Why she recalled this memory: the whole of recall, top to bottom, with its knobs in one RecallConfig.

1. Candidates: the nearest vectors of each scope (FAISS, cosine) and the best BM25 matches of each memory in
   its context (FTS5), `pool` from each side.
2. Honest not-knowing: a candidate whose relevance (cosine and the share of the question's words found)
   is below the floor is dropped; with nothing left she says she does not remember. A moment shared
   (not a question) has a lower floor: it asks for nothing, and a memory may still enrich it.
3. Score: meaning, shared words, recency and importance, plus a lift from the turn said just before or
   after it (a fragment of the same exchange), which may also bring that turn along.
4. Choice: best first, skipping near-duplicates and more than a few film passages.
5. Strengthening: what was recalled fades more slowly from now on (the store writes it, in its writer).

Contract of a score: every part and the total lie in [0, 1], and higher means "more worth recalling".
The SQL lookups are in memory/candidates.py; the numbers behind each default are in bench/RESULTS.md
(bench/locomo_experiments.py runs this pipeline with other RecallConfigs).
"""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np

from memory import candidates, choice, context, when
from memory.models import SHARED, Recalled, Score
from memory.rows import to_memory
from memory.search_base import NearestIndex, TextSearch
from memory.words import asks, coverage, terms


@dataclass(frozen=True)
class RecallConfig:
    """The knobs of recall; the defaults are the product (tuned on LoCoMo with general features only)."""

    # 1. Candidates from each side (dense and lexical): a wide pool, since the scoring sorts out the rest
    # (bench/RESULTS.md, LoCoMo experiments: "pool 40"); `pool_per_k` more for every memory asked for.
    pool: int = 100
    pool_per_k: int = 10
    # At most this many memories matching the question's words are ranked by BM25, rarest words first
    # (BM25 over every match grew with the store: bench/RESULTS.md, turn overhead).
    ranked_matches: int = 1000

    # 2. Honest not-knowing: relevance = floor_dense x cosine + floor_coverage x the share of the question's
    # content words found in the memory and its neighbours; absolute, so it can say "nothing here".
    floor_dense: float = 0.75
    floor_coverage: float = 0.25
    min_relevance: float = 0.28
    # A moment shared rather than a question asked ("I'm so nervous about Thursday"): nothing is asked, so
    # nothing needs an honest "I don't remember", and a memory that could enrich the moment shares few words
    # with it. Only what is clearly unrelated is dropped: unrelated sentences have cosines up to ~0.2 with
    # MiniLM (bench/RESULTS.md, "Questions and moments").
    min_relevance_moment: float = 0.16
    # Film passages are long and share vague words with everything; they must be clearly on topic.
    min_relevance_shared: float = 0.40

    # 3. Weights of the parts. Meaning and shared words carry recall (BM25 relative to the question's best
    # match did better than word coverage); a neighbour's score lifts a turn said beside it; recency and
    # importance only break near-ties (bench/RESULTS.md, LoCoMo experiments, each with and without).
    w_dense: float = 1.0
    w_lexical: float = 0.8
    w_recency: float = 0.1
    w_importance: float = 0.1
    w_context: float = 1.0
    # Her own words (her replies) are memories too, but what the person said wins when both match: hers
    # count this share of their own score (bench/RESULTS.md, LongMemEval and LoCoMo).
    her_words: float = 0.9
    # A question that names a time ("last weekend", "in March": memory/when.py) lifts what was said then,
    # and the memories of those days join the candidates by meaning (bench/RESULTS.md, LongMemEval).
    w_when: float = 0.0
    when_pool: int = 0
    # Retention halves every half_life_days x (1 + times recalled): a forgetting curve as in MemoryBank.
    half_life_days: float = 30.0
    seed_importance: float = 0.3  # film passages neither fade nor were weighed when written

    # 4. Choice: a memory this close (cosine) to one already chosen adds nothing; film passages support a
    # conversation and should not crowd out what the person told her.
    duplicate_cosine: float = 0.95
    max_shared: int = 2
    # At most this many memories said on one day (0: no limit), so a question whose answer is spread over
    # several days is not answered by one day's exchange alone (bench/RESULTS.md, LongMemEval).
    max_per_day: int = 0

    # 5. Whether recall leaves a trace (benchmarks that must not influence one question by another turn it
    # off).
    strengthen: bool = True

    @property
    def direct_max(self) -> float:
        """The most a memory can score on its own (before its neighbours are counted)."""
        return self.w_dense + self.w_lexical + self.w_recency + self.w_importance

    @property
    def total_max(self) -> float:
        """The most a memory can score with its neighbours: what divides the total into [0, 1]."""
        return self.direct_max + self.w_context

    def pool_size(self, k: int) -> int:
        """How many candidates each side proposes for the best k."""
        return max(self.pool, self.pool_per_k * k)


# -- 1. candidates -------------------------------------------------------------------------------------


def lexical_candidates(
    conn: sqlite3.Connection,
    scopes: list[str],
    query: str,
    k: int,
    config: RecallConfig,
    search: TextSearch = candidates,
) -> dict[int, float]:
    """The lexical side's candidates for the best k: id -> BM25 (needs no vector: runs during embedding)."""
    return search.lexical(conn, scopes, query, config.pool_size(k), config.ranked_matches)


# -- 2. honest not-knowing -----------------------------------------------------------------------------


def relevance(dense: float, coverage: float, config: RecallConfig) -> float:
    """What the abstention floor looks at: meaning, and the share of the question's words present."""
    return config.floor_dense * max(0.0, dense) + config.floor_coverage * coverage


def _relevant(
    conn: sqlite3.Connection,
    rows: dict[int, sqlite3.Row],
    dense: dict[int, float],
    query: str,
    config: RecallConfig,
    search: TextSearch,
) -> set[int]:
    """The ids whose relevance reaches the floor. Word coverage is read from the memory in its context
    (what the lexical side ranks), and only where the cosine alone does not decide."""
    shared = config.min_relevance_shared
    own = config.min_relevance if asks(query) else config.min_relevance_moment
    floor = {i: shared if r["user"] == SHARED else own for i, r in rows.items()}
    passed = {i for i in rows if relevance(dense[i], 0.0, config) >= floor[i]}
    undecided = [i for i in rows.keys() - passed if relevance(dense[i], 1.0, config) >= floor[i]]
    query_terms = terms(query)
    if not undecided or not query_terms:
        return passed
    texts = search.context_texts(conn, undecided)
    for i in undecided:
        found = coverage(query_terms, texts.get(i) or rows[i]["text"])
        if relevance(dense[i], found, config) >= floor[i]:
            passed.add(i)
    return passed


# -- 3. score ------------------------------------------------------------------------------------------


def retention(created_at: str, recall_count: int, now: datetime, config: RecallConfig) -> float:
    """How fresh a memory is, in [0, 1]: 1 when made now, halving every half_life x (1 + times recalled)."""
    # Counted from when it was made, not from the last recall: being recalled slows the fading but does not
    # make a memory new again. Anchoring on the last recall let whatever was recalled once crowd out the
    # rest (LoCoMo recall@10 38% against 50% without strengthening, bench/RESULTS.md); the database keeps
    # `last_recalled` for the record only.
    try:
        anchor = datetime.fromisoformat(created_at)
        age_days = max(0.0, (now - anchor).total_seconds() / 86400)
    except (TypeError, ValueError):
        return 0.0
    return math.pow(0.5, age_days / (config.half_life_days * (1 + max(0, recall_count))))


def direct(*, dense: float, lexical: float, recency: float, importance: float, config: RecallConfig) -> float:
    """A memory's score on its own, in [0, direct_max] (before its neighbours are counted)."""
    return (
        config.w_dense * max(0.0, min(1.0, dense))
        + config.w_lexical * lexical
        + config.w_recency * recency
        + config.w_importance * importance
    )


def score(
    *, dense: float, lexical: float, recency: float, importance: float, context: float, config: RecallConfig
) -> Score:
    """Combine the parts into the total that orders recall; `context` is a neighbour's direct / direct_max."""
    dense = max(0.0, min(1.0, dense))
    own = direct(dense=dense, lexical=lexical, recency=recency, importance=importance, config=config)
    total = (own + config.w_context * context) / config.total_max
    return Score(
        total=round(total, 4),
        dense=round(dense, 4),
        lexical=round(lexical, 4),
        recency=round(recency, 4),
        importance=round(importance, 4),
        context=round(context, 4),
    )


Parts = tuple[float, float, float, float]  # dense, lexical, recency, importance


def _parts(row: sqlite3.Row, dense: float, lexical: float, now: datetime, config: RecallConfig) -> Parts:
    """A memory's own parts (seed passages neither fade nor weigh)."""
    if row["user"] == SHARED:
        return dense, lexical, 0.0, config.seed_importance
    fresh = retention(row["created_at"], row["recall_count"], now, config)
    return dense, lexical, fresh, float(row["importance"])


# -- the pipeline --------------------------------------------------------------------------------------


def run(
    conn: sqlite3.Connection,
    indexes: dict[str, NearestIndex],
    vector: np.ndarray,
    query: str,
    k: int,
    config: RecallConfig,
    *,
    now: datetime,
    lexical: dict[int, float] | None = None,
    search: TextSearch = candidates,
) -> list[Recalled]:
    """The best k memories of the scopes in `indexes` (blocking, reads only), each with its Score."""
    # `lexical`, if given, is lexical_candidates for the same question, looked up while it was embedded.
    # The engine's lookups: `indexes` by meaning (FAISS or pgvector), `search` by words (FTS5 or Postgres).
    # 1. Candidates from both sides, and from the days the question names.
    pool = config.pool_size(k)
    found: set[int] = set()
    for index in indexes.values():
        found.update(i for i, _ in index.search(vector, pool))
    scopes = list(indexes)
    if lexical is None:
        lexical = lexical_candidates(conn, scopes, query, k, config, search)
    found.update(lexical)
    days = when.window(query, now) if config.w_when or config.when_pool else None
    if days is not None and config.when_pool:
        found.update(candidates.said_between(conn, scopes, days.start, days.end, vector, config.when_pool))
    w_when = config.w_when if days is not None else 0.0
    direct_max, total_max = config.direct_max + w_when, config.total_max + w_when
    rows = search.rows(conn, found, scopes)
    dense = candidates.cosines(rows, vector)
    best_bm25 = max(lexical.values(), default=0.0) or 1.0

    # 2 and 3. Those above the floor, scored on their own.
    parts: dict[int, Parts] = {}
    own: dict[int, float] = {}
    for i in _relevant(conn, rows, dense, query, config, search):
        parts[i] = _parts(rows[i], dense[i], lexical.get(i, 0.0) / best_bm25, now, config)
        d, lex, fresh, weight = parts[i]
        own[i] = direct(dense=d, lexical=lex, recency=fresh, importance=weight, config=config)
        if rows[i]["hers"]:
            own[i] *= config.her_words
        if days is not None and days.holds(rows[i]["created_at"]):
            own[i] += w_when

    # 3. A turn beside a relevant one is part of the same exchange: it is lifted by it, and may come along.
    beside: dict[int, list[int]] = {}
    for earlier, later in context.pairs(conn, set(own)):
        beside.setdefault(earlier, []).append(later)
        beside.setdefault(later, []).append(earlier)
    extra = search.rows(conn, {j for j in beside if j not in rows}, scopes)
    dense.update(candidates.cosines(extra, vector))
    rows.update(extra)
    lift = {  # only current memories: a superseded neighbour is linked but not recalled
        i: max(own.get(j, 0.0) for j in near) / direct_max for i, near in beside.items() if i in rows
    }
    ranked = {i: own.get(i, 0.0) + config.w_context * lift.get(i, 0.0) for i in own.keys() | lift.keys()}

    # 4. Best first, without near-duplicates or too many film passages.
    chosen = choice.choose(ranked, rows, k, config)

    out = []
    for i in chosen:
        # A turn brought along only as context (no candidate, or below the floor) scores by its context.
        d, lex, fresh, weight = parts.get(i) or _parts(rows[i], dense[i], 0.0, now, config)
        why = score(
            dense=d, lexical=lex, recency=fresh, importance=weight, context=lift.get(i, 0.0), config=config
        )
        if i not in own or w_when:  # brought along as context, or lifted by the time the question names
            why = replace(why, total=round(ranked[i] / total_max, 4))
        out.append(Recalled(to_memory(conn, rows[i]), why))
    return out


# -- 5. strengthening ----------------------------------------------------------------------------------


def strengthen(conn: sqlite3.Connection, ids: list[int], now: datetime) -> None:
    """Recalled memories get stronger: they fade more slowly from now on (inside the writer's transaction)."""
    if ids:
        conn.execute(
            f"UPDATE memories SET recall_count = recall_count + 1, last_recalled = ?"
            f" WHERE id IN ({','.join('?' * len(ids))})",
            (now.isoformat(timespec="seconds"), *ids),
        )
