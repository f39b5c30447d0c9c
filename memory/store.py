"""MemoryStore: the SQLite engine of memory (store_base.MemoryEngine); every call scoped by user.

SQLite holds the truth (rows, vectors, FTS5), one FAISS index per scope is derived from it
(memory/scopes.py). Writes go through one writer thread in transactions, reads use their own connections
(memory/connections.py), so learning in the background never holds up a recall.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from memory import forget, recall, rows, write
from memory.connections import Connections
from memory.db import DB_FILE, now_iso
from memory.embedder import Embedder
from memory.index import IndexConfig, IndexFiles, VectorIndex
from memory.models import SHARED, Kind, Memory, MemoryError_, Recalled
from memory.recall import RecallConfig
from memory.scopes import ScopeIndexes
from memory.store_log import ConversationLog
from memory.store_recall import Recalling
from memory.store_write import Remembering
from persona.clock import Clock, SystemClock

__all__ = ["DB_FILE", "MemoryStore"]

log = logging.getLogger(__name__)
T = TypeVar("T")
SEED_MARK = "seed:"  # meta key prefix: the content hash of each seed file ingested


class MemoryStore(ConversationLog, Remembering, Recalling):
    """SQLite (truth) + one FAISS index per user (derived) + FTS5 (lexical). Blocking work runs in threads."""

    def __init__(
        self,
        data_dir: Path,
        embedder: Embedder,
        passphrase: str | None = None,
        *,
        recall_config: RecallConfig | None = None,
        index_config: IndexConfig | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.embedder = embedder
        self.clock: Clock = clock or SystemClock()  # stamps every row; tests and scripts move it
        self.data_dir = data_dir
        self.recall_config = recall_config or RecallConfig()
        self._db = Connections(data_dir / DB_FILE, passphrase, on_rollback=lambda: self._indexes.clear())
        # Encrypted: vectors stay in memory, rebuilt from the decrypted store at start (never on disk).
        files = IndexFiles(data_dir / "index", embedder.name, embedder.dim, persist=passphrase is None)
        self._indexes = ScopeIndexes(files, index_config or IndexConfig(), self._db.read)
        self._beside = ThreadPoolExecutor(1, thread_name_prefix="recall-lexical")
        self._strengthening: dict[str, Future[None]] = {}  # per user: the last recall's trace, being written
        self._closed = False

    @classmethod
    async def open(
        cls,
        data_dir: Path,
        embedder: Embedder,
        passphrase: str | None = None,
        *,
        recall_config: RecallConfig | None = None,
        index_config: IndexConfig | None = None,
        clock: Clock | None = None,
    ) -> MemoryStore:
        """Open the store without blocking the event loop (encrypted when given a passphrase)."""
        return await asyncio.to_thread(
            cls,
            data_dir,
            embedder,
            passphrase,
            recall_config=recall_config,
            index_config=index_config,
            clock=clock,
        )

    async def _read(self, query: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(self._db.read, query, *args)

    async def _write(self, change: Callable[..., T], *args: Any) -> T:
        return await asyncio.wrap_future(self._db.write(change, *args))

    def index(self, scope: str) -> VectorIndex:
        """The scope's FAISS index (this engine only: tests and benchmarks look inside)."""
        return self._indexes.get(scope)

    # -- writing memories ---------------------------------------------------------------------

    def _insert(
        self,
        conn: sqlite3.Connection,
        user: str,
        items: Sequence[write.NewMemory],
        vectors: np.ndarray,
        dedupe: bool,
    ) -> list[Memory | None]:
        index = self._indexes.get(user)
        return write.insert(conn, index, user, items, vectors, stamp=now_iso(self.clock), dedupe=dedupe)

    async def seed_digest(self, name: str) -> str | None:
        """The content hash of the seed file `name` as last ingested (None: never)."""
        sql = "SELECT value FROM meta WHERE key = ?"
        row = await self._read(lambda c: c.execute(sql, (SEED_MARK + name,)).fetchone())
        return row["value"] if row else None

    async def add_seed(self, name: str, digest: str, items: Sequence[write.NewMemory]) -> int:
        """Add a seed file's passages to the shared scope and record its digest; how many were new."""
        vectors = await asyncio.to_thread(self.embedder.embed, [i.embed_text or i.text for i in items])

        def change(conn: sqlite3.Connection) -> int:
            added = self._insert(conn, SHARED, items, vectors, True)
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (SEED_MARK + name, digest))
            return sum(1 for m in added if m)

        return await self._write(change)

    # -- reading ------------------------------------------------------------------------------

    def _recall(
        self, user: str, query: str, k: int, shared: bool, now: datetime | None = None
    ) -> list[Recalled]:
        config = self.recall_config
        scopes = [user, SHARED] if shared else [user]
        self._settle(user)  # this user's last recall left its trace before this one reads
        # The lexical search needs no vector: it runs on the other core while the question is embedded
        # (both release the GIL), which takes it off each turn's time.
        lexical = self._beside.submit(self._db.read, recall.lexical_candidates, scopes, query, k, config)
        vector = self.embedder.embed([query])[0]
        indexes = {s: self._indexes.get(s) for s in scopes}
        # "Last weekend" and a memory's freshness are both counted from the moment of the question.
        now = now or self.clock.now()
        found = self._db.read(
            recall.run, indexes, vector, query, k, config, now=now, lexical=lexical.result()
        )
        strengthened = [r.memory.id for r in found if r.memory.user != SHARED]
        if config.strengthen and strengthened:  # written by the writer; the reply does not wait for it
            self._strengthening[user] = self._db.write(recall.strengthen, strengthened, now)
        return found

    async def memories(
        self, user: str, *, query: str | None = None, kind: Kind | None = None, limit: int = 200
    ) -> list[Memory]:
        """List a user's memories, newest first; `query` filters by words (full-text)."""
        return await self._read(rows.listed, user, query, kind, limit)

    async def count(self, user: str | None = None) -> dict[str, int]:
        """How many memories of each kind (for one user, or all)."""
        return await self._read(rows.counted, user)

    # -- forgetting ---------------------------------------------------------------------------

    async def forget(self, user: str, memory_id: int) -> int:
        """Forget a memory and all derived from the same turns (log included); how many memories went."""
        if not 0 < memory_id < 2**63:  # SQLite rowids are signed 64-bit: nothing else can exist
            return 0
        removed = await self._write(lambda c: forget.memory_and_vectors(c, self.index(user), user, memory_id))
        if removed:
            await self._leave_no_copy(user)
        return len(removed)

    async def forget_turn(self, user: str, turn_id: int) -> int:
        """Remove a turn from the log and every memory learned from it; returns how many memories went."""
        if not 0 < turn_id < 2**63:
            return 0
        removed = await self._write(lambda c: forget.turn_and_vectors(c, self.index(user), user, turn_id))
        await self._leave_no_copy(user)
        return len(removed)

    async def forget_user(self, user: str) -> int:
        """Remove everything stored for a user: memories, vectors, turns, conversations (not the account)."""
        if user == SHARED:
            raise MemoryError_("seed passages are shared and read-only")
        count = await self._write(forget.everything, user)
        await asyncio.to_thread(self._indexes.drop, user)  # may wait for a load of that index
        await asyncio.wrap_future(self._db.after_write(forget.checkpoint))
        return count

    async def _leave_no_copy(self, user: str) -> None:
        """After forgetting: the index file without the vectors, and the write-ahead log emptied."""

        def job(conn: sqlite3.Connection) -> None:
            self._indexes.save(user)
            forget.checkpoint(conn)

        await asyncio.wrap_future(self._db.after_write(job))

    # -- upkeep -------------------------------------------------------------------------------

    async def save_indexes(self) -> None:
        """Write changed indexes to disk, between two writes (a cache: losing them only costs a rebuild)."""
        await asyncio.wrap_future(self._db.after_write(lambda _conn: self._indexes.save()))

    async def verify(self) -> dict[str, dict[str, int | bool]]:
        """For every scope: rows in SQLite, vectors in its index, and whether they hold the same ids."""
        return await self._read(self._indexes.verify)

    async def aclose(self) -> None:
        """Finish queued writes, save the indexes and close the database."""

        def run() -> None:
            if self._closed:
                return
            self._closed = True
            self._beside.shutdown()
            self._db.after_write(lambda _conn: self._indexes.save()).result()
            self._db.close()

        await asyncio.to_thread(run)
