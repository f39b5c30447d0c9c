"""The store's plumbing: one SQLite connection under one lock, transactions, and the per-scope indexes."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from memory import db
from memory.embedder import Embedder
from memory.index import IndexConfig, IndexFiles, VectorIndex
from memory.recall import RecallConfig

log = logging.getLogger(__name__)

DB_FILE = "samantha.db"
T = TypeVar("T")


class StoreBase:
    """SQLite (truth) + one FAISS index per scope (derived); MemoryStore adds what memory means."""

    def __init__(
        self,
        data_dir: Path,
        embedder: Embedder,
        passphrase: str | None = None,
        *,
        recall_config: RecallConfig | None = None,
        index_config: IndexConfig | None = None,
    ) -> None:
        self.embedder = embedder
        self.data_dir = data_dir
        self.recall_config = recall_config or RecallConfig()
        self.index_config = index_config or IndexConfig()
        self._conn = db.connect(data_dir / DB_FILE, passphrase)
        # Encrypted: vectors stay in memory, rebuilt from the decrypted store at start (never on disk).
        self._files = IndexFiles(data_dir / "index", embedder.name, embedder.dim, persist=passphrase is None)
        self._indexes: dict[str, VectorIndex] = {}
        # One connection, one writer: SQLite and the FAISS objects are touched under this lock only.
        self._lock = threading.RLock()
        self._beside = ThreadPoolExecutor(1, thread_name_prefix="recall-lexical")

    # -- plumbing -----------------------------------------------------------------------------

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                # Indexes may already hold changes of the rolled-back transaction: rebuild them on demand.
                self._indexes.clear()
                raise
            self._conn.execute("COMMIT")

    def _q(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def index(self, scope: str) -> VectorIndex:
        """The scope's FAISS index: loaded if it agrees with SQLite, otherwise rebuilt from stored vectors."""
        with self._lock:
            if scope in self._indexes:
                return self._indexes[scope]
            rows = self._q("SELECT id FROM memories WHERE user = ? ORDER BY id", (scope,))
            ids = np.array([r["id"] for r in rows], dtype=np.int64)
            index = self._files.load_checked(scope, ids, self.index_config)
            if index is None:
                index = VectorIndex(self.embedder.dim, self.index_config)
                # The vectors are read only for a rebuild (1.5 GB at 1M memories).
                rows = self._q("SELECT id, embedding FROM memories WHERE user = ? ORDER BY id", (scope,))
                ids = np.array([r["id"] for r in rows], dtype=np.int64)
                if rows:
                    log.info("rebuilding the index for %r from %d stored vectors", scope, len(rows))
                    vectors = np.vstack([np.frombuffer(r["embedding"], dtype=np.float32) for r in rows])
                    index.add(ids, vectors)
                index.dirty = True
            self._indexes[scope] = index
            return index

    def save_indexes(self) -> None:
        """Write changed indexes to disk (a cache: losing them only costs a rebuild)."""
        if not self._files.persist:
            return
        with self._lock:
            for scope, index in self._indexes.items():
                if index.dirty:
                    index.save(self._files.path(scope))
            self._files.write_manifest()

    def get_meta(self, key: str) -> str | None:
        """A value from the meta table."""
        rows = self._q("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0]["value"] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        """Store a value in the meta table."""
        with self._tx() as c:
            c.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def _read(self, query: Callable[..., T], *args: Any) -> T:
        with self._lock:
            return query(self._conn, *args)

    def _write(self, change: Callable[..., T], *args: Any) -> T:
        with self._tx() as c:
            return change(c, *args)

    def verify(self) -> dict[str, dict[str, int | bool]]:
        """For every scope: rows in SQLite, vectors in its index, and whether they hold the same ids."""
        with self._lock:
            scopes = [r["user"] for r in self._q("SELECT DISTINCT user FROM memories")]
            report: dict[str, dict[str, int | bool]] = {}
            for scope in scopes:
                ids = [r["id"] for r in self._q("SELECT id FROM memories WHERE user = ?", (scope,))]
                held = self.index(scope).ids()
                report[scope] = {
                    "rows": len(ids),
                    "vectors": len(held),
                    "consistent": sorted(ids) == sorted(held.tolist()),
                }
            return report

    async def aclose(self) -> None:
        """Save the indexes and close the database."""

        def run() -> None:
            self._beside.shutdown()
            with self._lock:
                self.save_indexes()
                self._conn.close()

        await asyncio.to_thread(run)
