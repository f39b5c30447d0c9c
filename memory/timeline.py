"""The person's conversations in time: when the last one before this one ended, and what mattered in it."""

from __future__ import annotations

import re
import sqlite3

from memory.extract import importance


def last_talk(conn: sqlite3.Connection, user: str, conversation: str) -> tuple[str, str | None] | None:
    """When the person last said something outside `conversation` (her unprompted messages do not count),
    and the most telling sentence they said then (by the rules that weigh memories); None if never."""
    last = conn.execute(
        "SELECT conversation, created_at FROM turns WHERE user = ? AND conversation != ? AND role = 'user'"
        " ORDER BY id DESC LIMIT 1",
        (user, conversation),
    ).fetchone()
    if last is None:
        return None
    said = [
        sentence
        for r in conn.execute(
            "SELECT text FROM turns WHERE user = ? AND conversation = ? AND role = 'user' ORDER BY id",
            (user, last["conversation"]),
        )
        for sentence in re.split(r"(?<=[.!?])\s+", " ".join(r["text"].split()))
    ]
    # The most important thing they told her (a question tells little), the later one on a tie: what was
    # on their mind when they left.
    told = [t for t in said if not t.endswith("?")]
    topic = max(reversed(told), key=importance) if told else None
    return last["created_at"], topic
