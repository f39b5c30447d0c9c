"""What differs between the engines' searches: the lexical index and the SQL around it, and the index of
meaning (two Protocols).

memory/recall.py, forget.py and rows.py tell their stories once and ask one of these for the
engine-specific lookups: memory/candidates.py is SQLite's (FTS5, BM25), memory/pg/search.py is Postgres'
(tsvector, BM25 computed in SQL). Both are modules; a module with these functions is a TextSearch.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np


class TextSearch(Protocol):
    """The lexical lookups of one engine; `conn` is that engine's connection (sqlite3-like)."""

    def lexical(
        self, conn: Any, scopes: list[str], query: str, limit: int, ranked_matches: int
    ) -> dict[int, float]:
        """The best `limit` current memories by BM25 of each in its context: id -> BM25 (higher: better)."""
        ...

    def context_texts(self, conn: Any, ids: list[int]) -> dict[int, str]:
        """Each memory's text together with the turns said beside it (what the lexical side ranks)."""
        ...

    def rows(self, conn: Any, ids: set[int], scopes: list[str]) -> dict[int, Any]:
        """The current memories among `ids` in these scopes (rows with the `memories` columns)."""
        ...

    def said_elsewhere(self, conn: Any, user: str, word: str) -> bool:
        """Whether a word (as full-text search stems it) is in any remaining memory of this user."""
        ...

    def matching(self, query: str) -> tuple[str, str] | None:
        """A condition on `m.id` for memories holding every word of `query`, and its one parameter."""
        ...

    def scrub(self, conn: Any) -> None:
        """Leave no copy of deleted words in the lexical indexes (within the caller's transaction)."""
        ...


class NearestIndex(Protocol):
    """A scope's search by meaning: FAISS (memory/index.py) or pgvector (memory/pg/vectors.py)."""

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Index these stored memories' vectors (inside the transaction that stored them)."""
        ...

    def remove(self, ids: list[int]) -> None:
        """Stop finding these memories (they were deleted)."""
        ...

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The k nearest ids with their cosine similarity, best first."""
        ...
