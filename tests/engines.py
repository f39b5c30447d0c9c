"""Both memory engines for the tests: the embedded store and Postgres (a real one, from pgserver).

A test opts in with `@both_engines` and uses the `store` fixture (or `@both_settings` and a server made
from the `settings` fixture): it runs once on each engine. `traces` finds a word wherever an engine could
still give it back.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from memory.pg.store import PgMemoryStore
from memory.store import MemoryStore

Engine = MemoryStore | PgMemoryStore
ENGINES = ["sqlite", "postgres"]
both_engines = pytest.mark.parametrize("store", ENGINES, indirect=True)
# The same for tests that start a server from the `settings` fixture.
both_settings = pytest.mark.parametrize("settings", ENGINES, indirect=True)

# Every table of ours with text in it (Postgres): where a forgotten word could still be read back.
_TABLES = [
    "meta",
    "conversations",
    "turns",
    "memories",
    "memory_ctx",
    "memory_sources",
    "moods",
    "self_notes",
]


def files_holding(data_dir: Path, word: str) -> list[str]:
    """Every file under the data dir (database, write-ahead log, indexes) whose bytes contain `word`."""
    return [
        str(p.relative_to(data_dir))
        for p in sorted(data_dir.rglob("*"))
        if p.is_file() and word.encode() in p.read_bytes()
    ]


async def traces(store: Engine, word: str) -> list[str]:
    """Where the engine still holds `word`: SQLite's files, or Postgres' tables (any column, as text)."""
    if isinstance(store, MemoryStore):
        return files_holding(store.data_dir, word)

    def query(conn: object) -> list[str]:
        raw = conn.raw  # type: ignore[attr-defined]
        return [
            table
            for table in _TABLES
            if raw.execute(
                f"SELECT 1 FROM {table} t WHERE t::text ILIKE %s LIMIT 1", (f"%{word}%",)
            ).fetchone()
        ]

    return await store.run_read(query)


def context_texts(store: Engine) -> list[str]:
    """What the lexical side ranks, memory by memory: each memory with the turns said beside it.

    On Postgres, a row whose stored tsvector no longer matches its context (a trigger missed a change)
    reads as its stale words, so a test sees what is really indexed."""
    if isinstance(store, MemoryStore):
        sql = "SELECT text FROM context_fts"
    else:
        sql = (
            "SELECT CASE WHEN x.tsv = to_tsvector('samantha', c.text) THEN c.text ELSE x.tsv::text END"
            " FROM memory_ctx x JOIN memory_context c ON c.id = x.id"
        )
    return [r[0] for r in store._db.read(lambda c: c.execute(sql).fetchall())]
