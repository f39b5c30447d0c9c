"""Values of the `meta` table that several servers may set at once (a shared database)."""

from __future__ import annotations

import sqlite3


def swap(conn: sqlite3.Connection, key: str, value: str) -> bool:
    """Set a meta value unless another writer changed it since this transaction read it (compare and
    swap, in both engines' SQL): whether this call set it."""
    # Servers sharing a Postgres database decide at the same time; one statement both checks and writes,
    # so exactly one of them wins (SQLite's one writer would have serialised them anyway).
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    if row is not None and row["value"] == value:  # another server set it since this one looked: not ours
        return False
    if row is None:
        return (
            conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (key, value)).rowcount == 1
        )
    cur = conn.execute("UPDATE meta SET value = ? WHERE key = ? AND value = ?", (value, key, row["value"]))
    return cur.rowcount == 1
