"""What her unprompted messages need from the database: per-user switches and the day's budget (meta)."""

from __future__ import annotations

import sqlite3
from datetime import date

from memory import goodnight, meta, plans, timeline
from persona.clock import instant

_OFF = "initiative-off:"  # meta key per user: present when the person turned her messages off
_SENT = "initiative-sent:"  # meta key per user: "<local day> <count>" of unprompted messages that day
_CHECKED = "initiative-checked-in:"  # meta key per user: the last talk she already checked in after
# Every meta key kept per person ends with their user id (forgetting a person removes them all).
USER_KEYS = (_OFF, _SENT, _CHECKED)

Facts = tuple[
    bool,  # she may not message first (the person's off switch)
    int,  # unprompted messages sent today
    list[tuple[int, str]],  # plans due: (memory id, follow-up question)
    tuple[str, str | None] | None,  # the last talk, when it was long enough ago for a check-in
    tuple[goodnight.Wish, str | None] | None,  # the good night asked for, and the night last said
]


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


def claim_send(conn: sqlite3.Connection, user: str, day: str, per_day: int) -> bool:
    """Count one more unprompted message on `day` if the budget allows; False: none left, or another
    server counted one at the same moment (then it sends, this one does not)."""
    sent = sent_on(conn, user, day)
    if sent >= per_day:
        return False
    return meta.swap(conn, _SENT + user, f"{day} {sent + 1}")


def checked_in_after(conn: sqlite3.Connection, user: str) -> str | None:
    """The time of the last thing the person said that she has already checked in after."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (_CHECKED + user,)).fetchone()
    return row["value"] if row else None


def mark_checked_in(conn: sqlite3.Connection, user: str, last_said: str) -> bool:
    """Record that she checks in after the silence that began at `last_said`; False if that was already
    recorded (by another server at the same moment)."""
    if checked_in_after(conn, user) == last_said:
        return False
    return meta.swap(conn, _CHECKED + user, last_said)


def round_facts(conn: sqlite3.Connection, users: list[str], day: str, quiet_since: str) -> dict[str, Facts]:
    """What a round needs to know of each person, in one trip to a reader: off, sent today, the plans
    due, the last talk if it was before `quiet_since` (only then can a check-in be due), the good night."""
    facts = {}
    for user in users:
        last = conn.execute(
            "SELECT created_at FROM turns WHERE user = ? AND role = 'user' ORDER BY id DESC LIMIT 1", (user,)
        ).fetchone()
        long_ago = (
            last is not None
            and instant(last[0]) < instant(quiet_since)
            and checked_in_after(conn, user) != last[0]  # one check-in per silence
        )
        facts[user] = (
            is_off(conn, user),
            sent_on(conn, user, day),
            plans.due_follow_ups(conn, user, date.fromisoformat(day)),
            timeline.last_talk(conn, user, "") if long_ago else None,
            (wished, goodnight.sent_for(conn, user)) if (wished := goodnight.wish(conn, user)) else None,
        )
    return facts
