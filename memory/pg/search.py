"""Postgres' TextSearch (memory/search_base.py): BM25 computed in SQL over tsvectors, rows by id.

Postgres' own rankings (ts_rank, ts_rank_cd) weigh how often and how close the words are in one document
but know nothing of how rare a word is in the collection, which is most of what BM25 (SQLite's FTS5) gets
right. So this module computes BM25 itself, with FTS5's constants and definitions: k1 = 1.2, b = 0.75,
idf = ln((N - n + 0.5) / (n + 0.5)) (at least 1e-6), N the memories in context, n those holding the word,
a document's length its tokens. Each memory in its context is a row of `memory_ctx` (tsvector and token
count, kept by triggers: memory/pg/schema.py). What still differs from FTS5 is the words themselves:
Snowball's English stemmer (Porter's second version) against FTS5's Porter, and Postgres' parser, which
splits hyphenated words into their parts as well as the whole and reads e-mail addresses and URLs as one
token. docs/DEPLOYMENT.md says how recall compares on LoCoMo.
"""

from __future__ import annotations

import math
import re
from typing import Any

from memory.candidates import rarest_first
from memory.pg.compat import Connection
from memory.words import fts_query

K1, B = 1.2, 0.75
_COLUMNS = 'id, "user", kind, text, created_at, importance, valid_to, recall_count, embedding, fact_key, hers'


def _words(query: str) -> list[str]:
    """The content words of a question, as SQLite's side quotes them for FTS5 (memory/words.py)."""
    return list(dict.fromkeys(re.findall(r'"([^"]+)"', fts_query(query))))


def lexical(
    conn: Connection, scopes: list[str], query: str, limit: int, ranked_matches: int
) -> dict[int, float]:
    """The best `limit` current memories by BM25 over each memory in its context: id -> BM25."""
    words = _words(query)
    if not words:
        return {}
    raw = conn.raw
    # Each word as Postgres stems it: its tsquery, and its lexemes (a word_with_parts has several).
    stemmed = raw.execute(
        "SELECT plainto_tsquery('samantha', w)::text, tsvector_to_array(to_tsvector('samantha', w))"
        " FROM unnest(%s::text[]) AS w",
        (words,),
    ).fetchall()
    counted, lexemes = [], {}
    for tsquery, parts in stemmed:
        if tsquery and tsquery not in lexemes:
            # As in SQLite: matches counted up to one past the budget, over every scope (BM25's n is too).
            n = _one(
                raw,
                "SELECT count(*) FROM (SELECT 1 FROM memory_ctx WHERE tsv @@ %s::tsquery LIMIT %s) s",
                (tsquery, ranked_matches + 1),
            )[0]
            counted.append((int(n), tsquery))
            lexemes[tsquery] = parts
    chosen, total = rarest_first(counted, ranked_matches)
    if not total:
        return {}
    docs, tokens = _one(raw, "SELECT count(*), coalesce(sum(dl), 0) FROM memory_ctx", ())
    avgdl = max(1.0, float(tokens) / max(1, int(docs)))
    hits = {word: n for n, word in counted}
    terms: dict[str, float] = {}
    for tsquery in chosen:
        idf = max(1e-6, math.log((int(docs) - hits[tsquery] + 0.5) / (hits[tsquery] + 0.5)))
        for lexeme in lexemes[tsquery]:
            terms[lexeme] = max(terms.get(lexeme, 0.0), idf)
    # Each matching memory's tsvector cut down to the question's lexemes (marked with weight A, then
    # filtered: both in C, much cheaper than unnesting every lexeme); tf is how many positions a lexeme
    # has, and its idf is looked up by its place in the list.
    found = raw.execute(
        "SELECT c.id, s.bm25 FROM memory_ctx c JOIN memories m ON m.id = c.id,"
        " LATERAL (SELECT sum((%(idf)s::float8[])[array_position(%(lex)s::text[], u.lexeme)]"
        "     * u.tf * (%(k1)s + 1) / (u.tf + %(k1)s * (1 - %(b)s + %(b)s * c.dl / %(avgdl)s))) AS bm25"
        "   FROM (SELECT lexeme, coalesce(array_length(positions, 1), 1) AS tf"
        "     FROM unnest(ts_filter(setweight(c.tsv, 'A', %(lex)s::text[]), '{a}'))) u) s"
        ' WHERE c.tsv @@ %(match)s::tsquery AND m."user" = ANY(%(scopes)s) AND m.valid_to IS NULL'
        " ORDER BY s.bm25 DESC, c.id LIMIT %(limit)s",
        {
            "lex": list(terms),
            "idf": list(terms.values()),
            "match": " | ".join(f"({t})" for t in chosen),
            "scopes": scopes,
            "k1": K1,
            "b": B,
            "avgdl": avgdl,
            "limit": limit,
        },
    ).fetchall()
    return {int(i): float(b) for i, b in found}


def _one(raw: Any, sql: str, params: tuple[Any, ...]) -> Any:
    """The one row an aggregate returns."""
    row = raw.execute(sql, params).fetchone()
    assert row is not None  # an aggregate without GROUP BY always returns a row
    return row


def rows(conn: Connection, ids: set[int], scopes: list[str]) -> dict[int, Any]:
    """The current memories among `ids` in these scopes (without the derived search columns)."""
    if not ids:
        return {}
    found = conn.raw.execute(
        f'SELECT {_COLUMNS} FROM memories WHERE id = ANY(%s) AND "user" = ANY(%s) AND valid_to IS NULL',
        (list(ids), scopes),
    ).fetchall()
    return {int(r["id"]): r for r in found}


def context_texts(conn: Connection, ids: list[int]) -> dict[int, str]:
    """Each memory's text together with the turns said beside it (what the lexical side ranks)."""
    if not ids:
        return {}
    found = conn.raw.execute("SELECT id, text FROM memory_context WHERE id = ANY(%s)", (ids,)).fetchall()
    return {int(i): t for i, t in found}


def said_elsewhere(conn: Connection, user: str, word: str) -> bool:
    """Whether a word (as full-text search stems it) is in any remaining memory of what this user said."""
    found = conn.raw.execute(  # her own words do not count (memory/candidates.py says why)
        "SELECT 1 FROM memories WHERE tsv @@ plainto_tsquery('samantha', %s) AND \"user\" = %s"
        " AND hers = 0 LIMIT 1",
        (word, user),
    ).fetchone()
    return found is not None


def matching(query: str) -> tuple[str, str] | None:
    """A condition on `m.id` for memories holding every word of `query`, and its one parameter."""
    words = _words(query)
    if not words:
        return None
    # The words go in as one parameter: plainto_tsquery ANDs them and cannot be given syntax.
    return "m.tsv @@ plainto_tsquery('samantha', ?)", " ".join(words)


def scrub(conn: Connection) -> None:
    """Nothing within the transaction: a deleted row's tsvectors go with it (VACUUM reclaims the space)."""
