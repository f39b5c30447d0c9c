"""Where a benchmark keeps memory: a fresh embedded store, or a fresh database on a real Postgres.

A benchmark opens one fresh store per run of its subject (`async with engine.fresh(embedder, config)`),
so the same code measures both engines: a variant is this choice, not a copy of the benchmark. Postgres
is the server at `--database` (an admin URL: a database is created per store and dropped after), or, by
default, one the pgserver wheel starts in a temporary folder for the run.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

from memory.embedder import Embedder
from memory.recall import RecallConfig
from memory.store import MemoryStore
from memory.store_base import MemoryEngine


class Embedded:
    """SQLite + FAISS + FTS5 in a temporary data folder."""

    name = "memory.store.MemoryStore"
    label = "embedded (SQLite, FAISS, FTS5)"

    @asynccontextmanager
    async def fresh(self, embedder: Embedder, config: RecallConfig) -> AsyncIterator[MemoryEngine]:
        """A new, empty store, closed after."""
        with tempfile.TemporaryDirectory(prefix="samantha-bench-") as tmp:
            store = await MemoryStore.open(Path(tmp), embedder, recall_config=config)
            try:
                yield store
            finally:
                await store.aclose()


class Postgres:
    """Postgres with pgvector: a new database per store on the server at `admin_url`."""

    name = "memory.pg.store.PgMemoryStore"
    label = "Postgres (pgvector HNSW, BM25 in SQL)"

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url

    @asynccontextmanager
    async def database(self) -> AsyncIterator[str]:
        """A new, empty database's URL; dropped after."""
        name = f"bench_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
        try:
            # The same URL with the new database's name as its path (what `--database` takes).
            yield urlunsplit(urlsplit(self.admin_url)._replace(path=f"/{name}"))
        finally:
            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE {name} WITH (FORCE)")  # type: ignore[arg-type]

    @asynccontextmanager
    async def fresh(self, embedder: Embedder, config: RecallConfig) -> AsyncIterator[MemoryEngine]:
        """A new, empty database and its store; both closed and dropped after."""
        from memory.pg.store import PgMemoryStore

        async with self.database() as url:
            store = await PgMemoryStore.open(url, embedder, recall_config=config)
            try:
                yield store
            finally:
                await store.aclose()


@contextmanager
def postgres(url: str | None) -> Iterator[Postgres]:
    """The Postgres at `url`, or one started by pgserver in a temporary folder for the block."""
    if url is not None:
        yield Postgres(url)
        return
    import pgserver

    with tempfile.TemporaryDirectory(prefix="samantha-bench-pg-") as folder:
        server: Any = pgserver.get_server(folder, cleanup_mode="stop")
        try:
            yield Postgres(server.get_uri())
        finally:
            server.cleanup()
