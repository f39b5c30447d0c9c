"""The conversation log: turns and conversations (plain SQL over one connection; callers hold the lock)."""

from __future__ import annotations

import sqlite3
from typing import Any

from memory.models import Conversation, Role, Turn


def _turn(row: sqlite3.Row) -> Turn:
    return Turn(
        row["id"],
        row["user"],
        row["conversation"],
        row["role"],
        row["text"],
        row["created_at"],
        row["status"],
    )


def insert(
    conn: sqlite3.Connection, user: str, conversation: str, role: Role, text: str, status: str, stamp: str
) -> Turn:
    """Append a turn, creating its conversation on the first one (inside the caller's transaction)."""
    conn.execute(
        "INSERT OR IGNORE INTO conversations (user, id, created_at) VALUES (?, ?, ?)",
        (user, conversation, stamp),
    )
    cur = conn.execute(
        "INSERT INTO turns (user, conversation, role, text, created_at, status) VALUES (?, ?, ?, ?, ?, ?)",
        (user, conversation, role, text, stamp, status),
    )
    return Turn(int(cur.lastrowid or 0), user, conversation, role, text, stamp, status)


def recent(conn: sqlite3.Connection, user: str, conversation: str, limit: int) -> list[Turn]:
    """The last `limit` turns of a conversation, oldest first."""
    rows = conn.execute(
        "SELECT * FROM (SELECT * FROM turns WHERE user = ? AND conversation = ? ORDER BY id DESC LIMIT ?)"
        " ORDER BY id",
        (user, conversation, limit),
    ).fetchall()
    return [_turn(r) for r in rows]


def conversations(conn: sqlite3.Connection, user: str, limit: int) -> list[Conversation]:
    """A user's conversations, most recently active first, each titled by its first message."""
    rows = conn.execute(
        "SELECT c.id, c.created_at, COUNT(t.id) AS n,"
        " (SELECT text FROM turns f WHERE f.user = c.user AND f.conversation = c.id"
        " ORDER BY f.id LIMIT 1) AS first FROM conversations c"
        " LEFT JOIN turns t ON t.user = c.user AND t.conversation = c.id"
        " WHERE c.user = ? GROUP BY c.id ORDER BY MAX(COALESCE(t.id, 0)) DESC LIMIT ?",
        (user, limit),
    ).fetchall()
    return [Conversation(r["id"], (r["first"] or "")[:80], r["created_at"], r["n"]) for r in rows]


def all_turns(conn: sqlite3.Connection, user: str) -> list[dict[str, Any]]:
    """Every turn of a user as plain data, oldest first (for export)."""
    return [dict(r) for r in conn.execute("SELECT * FROM turns WHERE user = ? ORDER BY id", (user,))]
