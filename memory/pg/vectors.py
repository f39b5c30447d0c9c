"""A scope's search by meaning on pgvector: the NearestIndex the shared SQL writes to and recall reads.

The vector lives in its memory's row (`vec`, under an HNSW index, cosine), so adding is setting it in the
transaction that stored the row, and removing is the row's deletion. pgvector 0.6 (the one pgserver
bundles) filters HNSW results after the scan: a person with a small share of a large table would get few
of their own memories back. So the search asks HNSW first and, when it comes back short, scans that
person's rows exactly (their rows are found by index; the distances of a few thousand vectors take
milliseconds). pgvector 0.8's `hnsw.iterative_scan` would make the second step unnecessary.
"""

from __future__ import annotations

import numpy as np

from memory.pg.compat import Connection

# HNSW looks at this many candidates per search at least (pgvector's default is 40; its maximum 1000).
EF_SEARCH = 100


class PgIndex:
    """The memories of one scope, searched by cosine in Postgres on the caller's connection."""

    def __init__(self, conn: Connection, scope: str) -> None:
        self._conn, self._scope = conn.raw, scope

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Set the stored rows' `vec` (inside the caller's transaction)."""
        with self._conn.cursor() as cur:
            cur.executemany(
                "UPDATE memories SET vec = %s WHERE id = %s",
                [(np.asarray(v, dtype=np.float32), int(i)) for i, v in zip(ids, vectors, strict=True)],
            )

    def remove(self, ids: list[int]) -> None:
        """Nothing to do: a deleted row takes its vector with it."""

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The k nearest ids of this scope with their cosine similarity, best first."""
        if k <= 0:
            return []
        query = np.asarray(vector, dtype=np.float32)
        self._conn.execute(f"SET LOCAL hnsw.ef_search = {min(1000, max(EF_SEARCH, k))}")
        found = self._conn.execute(
            'SELECT id, 1 - (vec <=> %s) FROM memories WHERE "user" = %s AND vec IS NOT NULL'
            " ORDER BY vec <=> %s LIMIT %s",
            (query, self._scope, query, k),
        ).fetchall()
        if len(found) < k:  # HNSW filtered this scope's rows out of its candidates: look at them all
            found = self._conn.execute(
                'SELECT id, 1 - (vec <=> %s) AS cos FROM memories WHERE "user" = %s AND vec IS NOT NULL'
                " ORDER BY cos DESC, id LIMIT %s",
                (query, self._scope, k),
            ).fetchall()
        return [(int(i), float(c)) for i, c in found]
