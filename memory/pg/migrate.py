"""Copy an embedded data folder into Postgres, then check the copy (`samantha memory migrate --to URL`).

Every table comes across row for row with its ids (so a memory's id, its sources and the turns beside it
stay the same), vectors are set from the stored float32 bytes (nothing is embedded again), and the
identity sequences continue after the last id. The target must be empty: a migration never merges.
Then the check: each table holds as many rows on both sides, and a sample of recalls (each a question made
of a stored memory's own words, asked of both engines, strengthening off so nothing changes) brings back
the same memories in the same order.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from memory import db
from memory.db import DatabaseError
from memory.pg.pool import PgConnections
from memory.recall import RecallConfig

log = logging.getLogger(__name__)

# In order: a row's references come before it (memories before their sources, turns before memories).
TABLES: dict[str, list[str]] = {
    "conversations": "user id created_at".split(),
    "turns": "id user conversation role text created_at status learned".split(),
    "memories": (
        "id user kind text created_at importance content_hash valid_to recall_count last_recalled embedding"
        " fact_key thread_prev due followed_up hushed follow_up hers"
    ).split(),
    "memory_sources": "memory_id turn_id".split(),
    "users": "name token_hash created_at revoked_at".split(),
    "moods": "id user at valence energy cause turn_id".split(),
    "self_notes": "id user kind text narration theme sources status created_at decided_at".split(),
}
_SEQUENCED = ("turns", "memories", "moods", "self_notes")


class MigrationError(DatabaseError):
    """The copy cannot be made (the target is not empty, the source unreadable); nothing was changed."""


@dataclass
class Report:
    """What was copied and what the check found."""

    counts: dict[str, tuple[int, int]] = field(default_factory=dict)  # table -> (embedded, Postgres)
    recalls: list[tuple[str, str, list[int], list[int]]] = field(default_factory=list)  # user, question, ids

    @property
    def counts_equal(self) -> bool:
        """Every table holds as many rows on both sides."""
        return all(a == b for a, b in self.counts.values())

    @property
    def recalls_identical(self) -> bool:
        """Every sampled question recalled the same memories in the same order."""
        return all(a == b for _, _, a, b in self.recalls)


def _quoted(columns: list[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def copy(source: Path, url: str, passphrase: str | None = None) -> dict[str, int]:
    """Copy the embedded database at `source` into the (empty) Postgres database at `url`; rows per table."""
    conn = db.connect(source, passphrase)  # migrates an older folder first, so its columns are all there
    try:
        dims = conn.execute("SELECT length(embedding) / 4 FROM memories LIMIT 1").fetchone()
        target = PgConnections(url, int(dims[0]) if dims else 384, max_size=1)
        try:
            return target.write(_copy_into, conn)
        finally:
            target.close()
    finally:
        conn.close()


def _copy_into(pg: Any, conn: sqlite3.Connection) -> dict[str, int]:
    raw = pg.raw
    taken = raw.execute("SELECT (SELECT count(*) FROM memories) + (SELECT count(*) FROM turns)").fetchone()
    if taken[0]:
        raise MigrationError("the target database already holds memories or turns: migrate into an empty one")
    copied = {}
    for table, columns in TABLES.items():
        rows = conn.execute(f"SELECT {_quoted(columns)} FROM {table} ORDER BY rowid").fetchall()
        values = [tuple(r) for r in rows]
        names = columns
        if table == "memories":  # the vector index's column, from the same bytes recall scores with
            names = [*columns, "vec"]
            values = [(*v, np.frombuffer(v[columns.index("embedding")], dtype=np.float32)) for v in values]
        marks = ", ".join(["%s"] * len(names))
        with raw.cursor() as cur:
            cur.executemany(f"INSERT INTO {table} ({_quoted(names)}) VALUES ({marks})", values)
        copied[table] = len(values)
    for key, value in conn.execute("SELECT key, value FROM meta").fetchall():
        upsert = "INSERT INTO meta (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = %s"
        raw.execute(upsert, (key, value, value))
    copied["meta"] = len(conn.execute("SELECT key FROM meta").fetchall())
    for table in _SEQUENCED:  # new rows continue after the copied ids
        last = f"coalesce((SELECT max(id) FROM {table}), 0) + 1"
        raw.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {last}, false)")
    return copied


def sample_questions(source: Path, passphrase: str | None, per_user: int) -> list[tuple[str, str]]:
    """(user, question) pairs: the words of every so-many current memory of each user, spread evenly."""
    conn = db.connect(source, passphrase)
    try:
        out = []
        users = [
            r[0] for r in conn.execute("SELECT DISTINCT user FROM memories WHERE user != '*' ORDER BY 1")
        ]
        for user in users:
            rows = conn.execute(
                "SELECT text FROM memories WHERE user = ? AND valid_to IS NULL ORDER BY id", (user,)
            ).fetchall()
            step = max(1, len(rows) // per_user)
            for row in rows[::step][:per_user]:
                words = row[0].split("] ", 1)[-1].split()  # without the "[date] speaker:" it is stored with
                out.append((user, " ".join(words[:12])))
        return out
    finally:
        conn.close()


# The check's recall: the product's, except that it leaves no trace (both sides stay as they were).
CHECK_RECALL = RecallConfig(strengthen=False)


async def check(
    data_dir: Path, url: str, embedder: Any, passphrase: str | None = None, *, per_user: int = 10, k: int = 5
) -> Report:
    """Compare the copy with its source: rows per table, and a sample of recalls asked of both."""
    import asyncio

    from memory.pg.store import PgMemoryStore
    from memory.store import MemoryStore

    report = Report()
    source = data_dir / db.DB_FILE
    embedded = await MemoryStore.open(data_dir, embedder, passphrase, recall_config=CHECK_RECALL)
    copied = await PgMemoryStore.open(url, embedder, recall_config=CHECK_RECALL)
    try:
        for table in [*TABLES, "meta"]:
            sql = f"SELECT count(*) FROM {table}"
            if table == "meta":  # Postgres' own meta also records the vectors' dimension
                sql += " WHERE key != 'embedding_dim'"
            a = await embedded.run_read(lambda c, q=sql: c.execute(q).fetchone()[0])
            b = await copied.run_read(lambda c, q=sql: c.execute(q).fetchone()[0])
            report.counts[table] = (int(a), int(b))
        questions = await asyncio.to_thread(sample_questions, source, passphrase, per_user)
        for user, question in questions:
            here = [r.memory.id for r in await embedded.recall(user, question, k=k)]
            there = [r.memory.id for r in await copied.recall(user, question, k=k)]
            report.recalls.append((user, question, here, there))
    finally:
        await embedded.aclose()
        await copied.aclose()
    return report
