"""Forgetting, completely: a memory, what came from the same turns, her replies that quote it, and the
words left behind in the database file (docs/MEMORY.md, "What forgetting removes")."""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from collections.abc import Iterable, Sequence

from memory import candidates, goodnight, initiative, journal, write
from memory.models import SHARED, MemoryError_
from memory.search_base import NearestIndex, TextSearch
from memory.words import STOPWORDS

log = logging.getLogger(__name__)

# A reply repeating this many consecutive words of a forgotten text quotes it.
QUOTED_RUN = 4
_PREFIX = re.compile(r"^\[[^\]]*\]\s*(?:\w+:\s*)?")  # "[2026-11-21] user: " before a stored line


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _runs(words: Sequence[str]) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + QUOTED_RUN]) for i in range(len(words) - QUOTED_RUN + 1)}


def memory(
    conn: sqlite3.Connection, user: str, memory_id: int, search: TextSearch = candidates
) -> list[int] | None:
    """Forget one memory completely (in the caller's transaction); ids removed, [] none, None another's."""
    # A said turn or a fact takes the turns it came from, everything learned from them, and her replies
    # that answered or quote them: with any of those left, what was forgotten could still be told.
    row = conn.execute("SELECT user, kind, text FROM memories WHERE id = ?", (memory_id,)).fetchone()
    if row is None:
        return []
    if row["user"] != user:
        return None
    turn_ids = []
    if row["kind"] in ("turn", "fact"):  # a fact is what was said, in other words: the turn goes too
        turn_ids = [
            r[0] for r in conn.execute("SELECT turn_id FROM memory_sources WHERE memory_id = ?", (memory_id,))
        ]
    conn.execute("DELETE FROM memories WHERE id = ?", (memory_id,))
    # What she became from a forgotten journal entry goes with it (memory/selfmodel.py cites its entries).
    # (Read in Python: a person has a handful of notes, and both engines read them alike.)
    notes = conn.execute("SELECT id, sources FROM self_notes WHERE user = ?", (user,)).fetchall()
    for note in notes:
        if memory_id in json.loads(note["sources"]):
            conn.execute("DELETE FROM self_notes WHERE id = ?", (note["id"],))
    return sorted({memory_id, *turns(conn, user, turn_ids, also=[row["text"]], search=search)})


def turns(
    conn: sqlite3.Connection,
    user: str,
    turn_ids: Sequence[int],
    *,
    also: Iterable[str] = (),
    search: TextSearch = candidates,
) -> list[int]:
    """Forget turns, all learned from them and her replies that answered or quote them (or `also`)."""
    if not turn_ids and not also:
        return []
    marks = ",".join("?" * len(turn_ids))
    said = (
        [
            r[0]
            for r in conn.execute(
                f"SELECT text FROM turns WHERE user = ? AND id IN ({marks})", (user, *turn_ids)
            )
        ]
        if turn_ids
        else []
    )
    forgotten = [_PREFIX.sub("", t) for t in [*said, *also]]
    answers = []
    for turn_id in turn_ids:  # her answer: the next turn of the same conversation, if it is hers
        after = conn.execute(
            "SELECT id, role FROM turns WHERE user = ? AND id > ? AND conversation ="
            " (SELECT conversation FROM turns WHERE id = ? AND user = ?) ORDER BY id LIMIT 1",
            (user, turn_id, turn_id, user),
        ).fetchone()
        if after is not None and after["role"] == "assistant":
            answers.append(after["id"])
    removed = write.delete_turns(conn, user, turn_ids)
    # Her mood quotes its cause: a mood set by a forgotten turn goes with it.
    if turn_ids:
        conn.execute(f"DELETE FROM moods WHERE user = ? AND turn_id IN ({marks})", (user, *turn_ids))
    quoting = replies_quoting(conn, user, forgotten, search)
    replies = sorted(set(answers) | set(quoting))
    if replies:
        log.info("forgetting %d of her replies that answered or quoted what was forgotten", len(replies))
        removed += write.delete_turns(conn, user, replies)
    return removed


def memory_and_vectors(
    conn: sqlite3.Connection, index: NearestIndex, user: str, memory_id: int, search: TextSearch = candidates
) -> list[int]:
    """`memory` with its vectors out of the index and the full-text indexes scrubbed; [] if none is theirs."""
    removed = memory(conn, user, memory_id, search)
    if removed is None:
        owner = conn.execute("SELECT user FROM memories WHERE id = ?", (memory_id,)).fetchone()["user"]
        if owner == SHARED:
            raise MemoryError_("seed passages are shared and read-only")
        return []  # another user's memory: to this user it does not exist
    index.remove(removed)
    if removed:
        search.scrub(conn)
    return removed


def turn_and_vectors(
    conn: sqlite3.Connection, index: NearestIndex, user: str, turn_id: int, search: TextSearch = candidates
) -> list[int]:
    """`turns` for one turn, with their vectors out of the index and the full-text indexes scrubbed."""
    removed = turns(conn, user, [turn_id], search=search)
    index.remove(removed)
    search.scrub(conn)
    return removed


def replies_quoting(
    conn: sqlite3.Connection, user: str, texts: Sequence[str], search: TextSearch = candidates
) -> list[int]:
    """Her replies that repeat QUOTED_RUN words of a text in a row, or a word of it said nowhere else."""
    # A word found nowhere else in what the user told her (a password, a name said once): a reply holding
    # it would still tell what was forgotten.
    runs: set[tuple[str, ...]] = set()
    rare: set[str] = set()
    for text in texts:
        words = _words(text)
        runs |= _runs(words)
        for word in set(words) - STOPWORDS - {"user"}:
            if len(word) > 2 and not search.said_elsewhere(conn, user, word):
                rare.add(word)
    if not runs and not rare:
        return []
    quoting = []
    for row in conn.execute("SELECT id, text FROM turns WHERE user = ? AND role = 'assistant'", (user,)):
        words = _words(row["text"])
        if rare.intersection(words) or runs & _runs(words):
            quoting.append(row["id"])
    return quoting


def everything(conn: sqlite3.Connection, user: str, search: TextSearch = candidates) -> int:
    """Forget a user's memories, turns, conversations, moods, self-model and every mark of their life in
    `meta` (not the account); how many memories went."""
    memories = conn.execute("DELETE FROM memories WHERE user = ?", (user,)).rowcount
    conn.execute("DELETE FROM turns WHERE user = ?", (user,))
    conn.execute("DELETE FROM conversations WHERE user = ?", (user,))
    conn.execute("DELETE FROM moods WHERE user = ?", (user,))
    conn.execute("DELETE FROM self_notes WHERE user = ?", (user,))
    # Her initiative's switch, budget and check-in mark, the good night asked for, her journal's marks.
    keys = [prefix + user for prefix in (*initiative.USER_KEYS, *goodnight.USER_KEYS)]
    conn.executemany("DELETE FROM meta WHERE key = ?", [(key,) for key in keys])
    marks = journal.marks_of(user)
    conn.execute("DELETE FROM meta WHERE substr(key, 1, ?) = ?", (len(marks), marks))
    search.scrub(conn)
    return int(memories)


def checkpoint(conn: sqlite3.Connection) -> None:
    """Copy the write-ahead log into the database and empty it, so no old page lingers in the WAL file."""
    busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    if busy:
        log.warning(
            "another connection held the database: the write-ahead log is emptied at its next checkpoint"
        )
