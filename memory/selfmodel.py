"""Her self-model: beside the fixed persona, things she has come to like, think or wonder about.

Proposed by rules from her journal (a theme that comes back in two or more entries, each entry cited as a
source), narrated in her voice, and kept or undone by the person. Nothing is deleted on undo: every row
is the history of who she became, and only kept ones reach the prompt.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import defaultdict
from dataclasses import dataclass

from memory.words import STOPWORDS

# A theme must come back in this many journal entries before she notices it in herself.
RECURS = 2
_WORD = re.compile(r"[a-z]{5,}")
# Words of the journal's own frame, which recur in every entry and say nothing about a theme.
_FRAME = {
    "journal", "talked", "stayed", "learned", "curious", "thing", "things", "bring", "their", "about",
    "there", "which", "would", "could", "should", "something", "little", "asked", "told", "morning",
    "afternoon", "evening", "night", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
    "sunday", "again", "still", "never", "always", "first", "going", "great", "january", "february",
    "march", "april", "june", "july", "august", "september", "october", "november", "december", "today",
    "tonight", "later", "really", "because", "where", "while",
}  # fmt: skip


@dataclass(frozen=True)
class SelfNote:
    """One thing she has come to like, think or wonder, with the journal entries behind it."""

    id: int
    kind: str
    text: str
    narration: str
    sources: tuple[int, ...]
    status: str
    created_at: str
    decided_at: str | None


def _note(row: sqlite3.Row) -> SelfNote:
    return SelfNote(
        row["id"], row["kind"], row["text"], row["narration"], tuple(json.loads(row["sources"])),
        row["status"], row["created_at"], row["decided_at"],
    )  # fmt: skip


def propose(conn: sqlite3.Connection, user: str, stamp: str) -> list[SelfNote]:
    """New proposals from her journal: each theme that recurs in RECURS entries and was never proposed."""
    entries = conn.execute(
        "SELECT id, text FROM memories WHERE user = ? AND kind = 'reflection' ORDER BY id", (user,)
    ).fetchall()
    seen: dict[str, list[int]] = defaultdict(list)
    for entry in entries:
        for word in set(_WORD.findall(entry["text"].lower())) - STOPWORDS - _FRAME:
            seen[word].append(entry["id"])
    known = {r[0] for r in conn.execute("SELECT theme FROM self_notes WHERE user = ?", (user,))}
    made = []
    for theme, sources in sorted(seen.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        if len(sources) < RECURS or theme in known:
            continue
        text = f"I find myself wondering about {theme}."
        narration = f"You keep coming back to {theme}, and I've started wondering about it too."
        cur = conn.execute(
            "INSERT INTO self_notes (user, kind, text, narration, theme, sources, created_at)"
            " VALUES (?, 'wonder', ?, ?, ?, ?, ?)",
            (user, text, narration, theme, json.dumps(sources), stamp),
        )
        made.append(
            SelfNote(
                int(cur.lastrowid or 0), "wonder", text, narration, tuple(sources), "proposed", stamp, None
            )
        )
        if len(made) >= 2:  # a little at a time: growth the person can follow
            break
    return made


def decide(conn: sqlite3.Connection, user: str, note_id: int, status: str, stamp: str) -> SelfNote | None:
    """Keep or undo one of her changes (the person's call); None if no such note is theirs."""
    conn.execute(
        "UPDATE self_notes SET status = ?, decided_at = ? WHERE id = ? AND user = ?",
        (status, stamp, note_id, user),
    )
    row = conn.execute("SELECT * FROM self_notes WHERE id = ? AND user = ?", (note_id, user)).fetchone()
    return _note(row) if row else None


def listed(conn: sqlite3.Connection, user: str) -> list[SelfNote]:
    """Every change, newest first: proposed, kept and undone (the history)."""
    rows = conn.execute("SELECT * FROM self_notes WHERE user = ? ORDER BY id DESC", (user,))
    return [_note(r) for r in rows]


def kept(conn: sqlite3.Connection, user: str) -> list[str]:
    """What the prompt carries: the kept changes, oldest first."""
    rows = conn.execute("SELECT text FROM self_notes WHERE user = ? AND status = 'kept' ORDER BY id", (user,))
    return [r[0] for r in rows]
