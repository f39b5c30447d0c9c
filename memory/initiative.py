"""What her unprompted messages need from the database: per-user switches and the day's budget (meta)."""

from __future__ import annotations

import sqlite3
from datetime import date

from memory import plans, timeline

_OFF = "initiative-off:"  # meta key per user: present when the person turned her messages off
_SENT = "initiative-sent:"  # meta key per user: "<local day> <count>" of unprompted messages that day


def is_off(conn: sqlite3.Connection, user: str) -> bool:
    """Whether the person turned off her unprompted messages."""
    return conn.execute("SELECT 1 FROM meta WHERE key = ?", (_OFF + user,)).fetchone() is not None


def set_off(conn: sqlite3.Connection, user: str, off: bool) -> None:
    """Turn her unprompted messages off (or back on) for one person."""
    if off:
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, '1')", (_OFF + user,))
    else:
        conn.execute("DELETE FROM meta WHERE key = ?", (_OFF + user,))


def sent_on(conn: sqlite3.Connection, user: str, day: str) -> int:
    """How many unprompted messages she sent this person on `day` (an ISO date)."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (_SENT + user,)).fetchone()
    if row is None:
        return 0
    stamped, _, count = row["value"].partition(" ")
    return int(count) if stamped == day else 0


def count_sent(conn: sqlite3.Connection, user: str, day: str) -> None:
    """Count one more unprompted message on `day`."""
    value = f"{day} {sent_on(conn, user, day) + 1}"
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (_SENT + user, value))


def users_with_turns(conn: sqlite3.Connection) -> list[str]:
    """Every person who has talked to her (the scheduler's round)."""
    return [r[0] for r in conn.execute("SELECT DISTINCT user FROM conversations ORDER BY user")]


def round_facts(
    conn: sqlite3.Connection, user: str, day: str
) -> tuple[bool, int, list[tuple[int, str]], tuple[str, str | None] | None]:
    """What a round needs to know of one person, in one trip to a reader: off, sent today, the plans due,
    and the last talk (memory/plans.py, memory/timeline.py)."""
    return (
        is_off(conn, user),
        sent_on(conn, user, day),
        plans.due_follow_ups(conn, user, date.fromisoformat(day)),
        timeline.last_talk(conn, user, ""),
    )
