"""What her journal needs from the database: conversations gone quiet, what was said in them, the marks."""

from __future__ import annotations

import sqlite3

_DONE = "journal:"  # meta key per conversation ("journal:<user>/<id>"): its entry was written (once)


def marks_of(user: str) -> str:
    """What every journal mark of this person's conversations starts with (forgetting removes them)."""
    return f"{_DONE}{user}/"


def idle_conversations(
    conn: sqlite3.Connection, user: str | None, before: str, since: str
) -> list[tuple[str, str]]:
    """(user, conversation) pairs where the person talked, quiet since `before`, last active after `since`,
    and not yet written up."""
    sql = (
        "SELECT t.user, t.conversation FROM turns t WHERE (? IS NULL OR t.user = ?)"
        " GROUP BY t.user, t.conversation"
        " HAVING SUM(t.role = 'user') > 0 AND julianday(MAX(t.created_at)) < julianday(?)"
        " AND julianday(MAX(t.created_at)) > julianday(?)"
        " AND NOT EXISTS (SELECT 1 FROM meta WHERE key = ? || t.user || '/' || t.conversation)"
    )
    return [(r[0], r[1]) for r in conn.execute(sql, (user, user, before, since, _DONE))]


def said_in(conn: sqlite3.Connection, user: str, conversation: str) -> list[tuple[int, str, str]]:
    """The conversation's turns, oldest first: (id, role, text)."""
    rows = conn.execute(
        "SELECT id, role, text FROM turns WHERE user = ? AND conversation = ? ORDER BY id",
        (user, conversation),
    )
    return [(r[0], r[1], r[2]) for r in rows]


def facts_from(conn: sqlite3.Connection, user: str, turn_ids: list[int]) -> list[str]:
    """The facts learned from these turns that still hold."""
    if not turn_ids:
        return []
    marks = ",".join("?" * len(turn_ids))
    rows = conn.execute(
        "SELECT DISTINCT m.text FROM memories m JOIN memory_sources s ON s.memory_id = m.id"
        " WHERE m.user = ? AND m.kind = 'fact' AND m.valid_to IS NULL"
        f" AND s.turn_id IN ({marks}) ORDER BY m.id",
        (user, *turn_ids),
    )
    return [r[0] for r in rows]


def mark_written(conn: sqlite3.Connection, user: str, conversation: str) -> bool:
    """Mark the conversation written up; False if it already was (another round got there first)."""
    cur = conn.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES (?, '1')", (f"{_DONE}{user}/{conversation}",)
    )
    return cur.rowcount > 0
