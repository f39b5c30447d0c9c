"""What her journal needs from the database: conversations gone quiet, what was said in them, the marks."""

from __future__ import annotations

import sqlite3

from persona.clock import instant

_DONE = "journal:"  # meta key per conversation ("journal:<user>/<id>"): its entry was written (once)


def marks_of(user: str) -> str:
    """What every journal mark of this person's conversations starts with (forgetting removes them)."""
    return f"{_DONE}{user}/"


def idle_conversations(
    conn: sqlite3.Connection, user: str | None, before: str, since: str
) -> list[tuple[str, str]]:
    """(user, conversation) pairs where the person talked, quiet since `before`, last active after `since`,
    and not yet written up."""
    # The times are compared here rather than in SQL, so the statement reads the same in both engines
    # (SQLite's julianday has no Postgres twin); there are few conversations per person.
    sql = (
        "SELECT t.user, t.conversation, MAX(t.created_at) FROM turns t"
        " WHERE (CAST(? AS TEXT) IS NULL OR t.user = ?) GROUP BY t.user, t.conversation"
        " HAVING SUM(CASE WHEN t.role = 'user' THEN 1 ELSE 0 END) > 0"
        " AND NOT EXISTS (SELECT 1 FROM meta WHERE key = CAST(? AS TEXT) || t.user || '/' || t.conversation)"
    )
    start, end = instant(since), instant(before)
    rows = conn.execute(sql, (user, user, _DONE)).fetchall()
    return [(r[0], r[1]) for r in rows if start < instant(r[2]) < end]


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
        "SELECT DISTINCT m.id, m.text FROM memories m JOIN memory_sources s ON s.memory_id = m.id"
        " WHERE m.user = ? AND m.kind = 'fact' AND m.valid_to IS NULL"
        f" AND s.turn_id IN ({marks}) ORDER BY m.id",
        (user, *turn_ids),
    )
    return [r[1] for r in rows]  # (the id is selected because it orders them: Postgres requires it)


def mark_written(conn: sqlite3.Connection, user: str, conversation: str) -> bool:
    """Mark the conversation written up; False if it already was (another round got there first)."""
    cur = conn.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES (?, '1')", (f"{_DONE}{user}/{conversation}",)
    )
    return cur.rowcount > 0
