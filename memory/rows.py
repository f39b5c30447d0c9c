"""Memories as they are handed out: a row as a Memory, a user's list, and the export (plain SQL, reads)."""

from __future__ import annotations

import sqlite3
from typing import Any

from memory import candidates
from memory.models import Kind, Memory
from memory.search_base import TextSearch


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


def listed(
    conn: sqlite3.Connection,
    user: str,
    query: str | None,
    kind: Kind | None,
    limit: int,
    search: TextSearch = candidates,
) -> list[Memory]:
    """A user's memories, newest first; `query` filters by words (full-text)."""
    sql = "SELECT m.* FROM memories m WHERE m.user = ?"
    params: list[Any] = [user]
    if kind:
        sql += " AND m.kind = ?"
        params.append(kind)
    if query and query.strip():
        condition = search.matching(query)
        if condition is None:  # no words at all (an emoji, punctuation): nothing can match
            return []
        sql += " AND " + condition[0]
        params.append(condition[1])
    sql += " ORDER BY m.id DESC LIMIT ?"
    params.append(limit)
    return [to_memory(conn, r) for r in conn.execute(sql, params).fetchall()]


def counted(conn: sqlite3.Connection, user: str | None) -> dict[str, int]:
    """How many memories of each kind (for one user, or all)."""
    where, params = (" WHERE user = ?", (user,)) if user else ("", ())
    rows = conn.execute(f"SELECT kind, COUNT(*) AS n FROM memories{where} GROUP BY kind", params)
    return {r["kind"]: r["n"] for r in rows.fetchall()}


def exported(conn: sqlite3.Connection, user: str) -> list[dict[str, Any]]:
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
