"""PgMemoryStore: the Postgres engine of memory (store_base.MemoryEngine), every call scoped by user.

The same semantics as the embedded MemoryStore, by the same code: memory's SQL modules (writing,
superseding, the conversation log, forgetting and its cascade, the export) run on Postgres through
memory/pg/compat.py, and recall is memory/recall.py's pipeline with pgvector (memory/pg/vectors.py) and
BM25 in SQL (memory/pg/search.py) as its lookups. Postgres is the truth and the only state: nothing is kept
in the process but a connection pool, so any number of servers can share one database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

import numpy as np

from memory import forget, recall, rows, turns, write
from memory.db import now_iso
from memory.embedder import Embedder
from memory.models import SHARED, Kind, Memory, MemoryError_, Recalled, Turn
from memory.pg import claims, search
from memory.pg.claims import lock_user
from memory.pg.compat import Connection
from memory.pg.pool import PgConnections
from memory.pg.vectors import PgIndex
from memory.recall import RecallConfig
from memory.store_log import ConversationLog
from memory.store_recall import Recalling
from memory.store_write import Remembering
from persona.clock import Clock, SystemClock

log = logging.getLogger(__name__)
T = TypeVar("T")
SEED_MARK = "seed:"  # meta key prefix: the content hash of each seed file ingested (as in SQLite)


class PgMemoryStore(ConversationLog, Remembering, Recalling):
    """Postgres (truth, pgvector HNSW, full text); blocking work runs in threads."""

    def __init__(
        self,
        url: str,
        embedder: Embedder,
        *,
        recall_config: RecallConfig | None = None,
        clock: Clock | None = None,
        pool_size: int = 8,
    ) -> None:
        self.embedder = embedder
        self.clock: Clock = clock or SystemClock()
        self.recall_config = recall_config or RecallConfig()
        self._db = PgConnections(url, embedder.dim, max_size=pool_size)
        self._beside = ThreadPoolExecutor(2, thread_name_prefix="pg-recall")
        self._strengthening: dict[str, Future[None]] = {}
        self._closed = False

    @classmethod
    async def open(
        cls,
        url: str,
        embedder: Embedder,
        *,
        recall_config: RecallConfig | None = None,
        clock: Clock | None = None,
    ) -> PgMemoryStore:
        """Connect, migrate and open the pool without blocking the event loop."""
        return await asyncio.to_thread(cls, url, embedder, recall_config=recall_config, clock=clock)

    async def _read(self, query: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(self._db.read, query, *args)

    async def _write(self, change: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(self._db.write, change, *args)

    # -- writing memories ---------------------------------------------------------------------

    def _insert(
        self, conn: Connection, user: str, items: Sequence[write.NewMemory], vectors: np.ndarray, dedupe: bool
    ) -> list[Memory | None]:
        lock_user(conn, user)
        stamp = now_iso(self.clock)
        return write.insert(conn, PgIndex(conn, user), user, items, vectors, stamp=stamp, dedupe=dedupe)  # type: ignore[arg-type]

    async def seed_digest(self, name: str) -> str | None:
        """The content hash of the seed file `name` as last ingested (None: never)."""
        sql = "SELECT value FROM meta WHERE key = ?"
        row = await self._read(lambda c: c.execute(sql, (SEED_MARK + name,)).fetchone())
        return row["value"] if row else None

    async def add_seed(self, name: str, digest: str, items: Sequence[write.NewMemory]) -> int:
        """Add a seed file's passages to the shared scope and record its digest; how many were new."""
        vectors = await asyncio.to_thread(self.embedder.embed, [i.embed_text or i.text for i in items])

        def change(conn: Connection) -> int:
            added = self._insert(conn, SHARED, items, vectors, True)
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (SEED_MARK + name, digest))
            return sum(1 for m in added if m)

        return await self._write(change)

    # -- learning cut short --------------------------------------------------------------------

    async def unlearned_turns(self) -> list[Turn]:
        """Said turns whose learning was cut short, each claimed by this server alone (others skip it)."""
        pending = await self._read(turns.unlearned)
        now = self.clock.now()
        return [said for said in pending if await self._write(claims.claim_learning, said, now)]

    # -- reading ------------------------------------------------------------------------------

    def _recall(
        self, user: str, query: str, k: int, shared: bool, now: datetime | None = None
    ) -> list[Recalled]:
        config = self.recall_config
        scopes = [user, SHARED] if shared else [user]
        self._settle(user)
        # The lexical side needs no vector: it runs on another connection while the question is embedded.
        lexical = self._beside.submit(
            self._db.read, recall.lexical_candidates, scopes, query, k, config, search
        )
        vector = self.embedder.embed([query])[0]
        now = now or self.clock.now()

        def run(conn: Connection) -> list[Recalled]:
            indexes = {s: PgIndex(conn, s) for s in scopes}
            return recall.run(
                conn,  # type: ignore[arg-type]
                indexes,  # type: ignore[arg-type]
                vector,
                query,
                k,
                config,
                now=now,
                lexical=lexical.result(),
                search=search,
            )

        found = self._db.read(run)
        strengthened = [r.memory.id for r in found if r.memory.user != SHARED]
        if config.strengthen and strengthened:  # written beside; the reply does not wait for it
            self._strengthening[user] = self._beside.submit(
                self._db.write, recall.strengthen, strengthened, now
            )
        return found

    async def memories(
        self, user: str, *, query: str | None = None, kind: Kind | None = None, limit: int = 200
    ) -> list[Memory]:
        """List a user's memories, newest first; `query` filters by words (full text)."""
        return await self._read(rows.listed, user, query, kind, limit, search)

    async def count(self, user: str | None = None) -> dict[str, int]:
        """How many memories of each kind (for one user, or all)."""
        return await self._read(rows.counted, user)

    # -- forgetting ---------------------------------------------------------------------------

    async def forget(self, user: str, memory_id: int) -> int:
        """Forget a memory and all derived from the same turns (log included); how many memories went."""
        if not 0 < memory_id < 2**63:
            return 0

        def change(conn: Connection) -> list[int]:
            lock_user(conn, user)
            return forget.memory_and_vectors(conn, PgIndex(conn, user), user, memory_id, search)  # type: ignore[arg-type]

        removed = await self._write(change)
        if removed:
            await self._reclaim()
        return len(removed)

    async def forget_turn(self, user: str, turn_id: int) -> int:
        """Remove a turn from the log and every memory learned from it; returns how many memories went."""
        if not 0 < turn_id < 2**63:
            return 0

        def change(conn: Connection) -> list[int]:
            lock_user(conn, user)
            return forget.turn_and_vectors(conn, PgIndex(conn, user), user, turn_id, search)  # type: ignore[arg-type]

        removed = await self._write(change)
        await self._reclaim()
        return len(removed)

    async def forget_user(self, user: str) -> int:
        """Remove everything stored for a user: memories, vectors, turns, conversations (not the account)."""
        if user == SHARED:
            raise MemoryError_("seed passages are shared and read-only")

        def change(conn: Connection) -> int:
            lock_user(conn, user)
            return forget.everything(conn, user, search)  # type: ignore[arg-type]

        count = await self._write(change)
        await self._reclaim()
        return count

    async def _reclaim(self) -> None:
        """After forgetting: VACUUM the tables, so the space of the deleted rows is reclaimed for reuse."""
        # Rows deleted are unreadable at once; their bytes stay in the table files until the space is
        # reused (docs/DEPLOYMENT.md, "Forgetting on Postgres"). A failed VACUUM only delays that.
        try:
            await asyncio.to_thread(self._db.autocommit, "VACUUM memories, memory_ctx, memory_sources, turns")
        except Exception as exc:
            log.warning("could not vacuum after forgetting: %s", exc)

    # -- upkeep -------------------------------------------------------------------------------

    async def save_indexes(self) -> None:
        """Nothing to save: Postgres keeps its indexes itself."""

    async def verify(self) -> dict[str, dict[str, int | bool]]:
        """For every scope: rows, vectors set, and whether every row has its vector."""

        def query(conn: Connection) -> dict[str, dict[str, int | bool]]:
            found = conn.raw.execute(
                'SELECT "user", count(*), count(vec) FROM memories GROUP BY "user"'
            ).fetchall()
            return {u: {"rows": n, "vectors": v, "consistent": n == v} for u, n, v in found}

        return await self._read(query)

    async def aclose(self) -> None:
        """Finish pending writes and close the pool."""

        def run() -> None:
            if self._closed:
                return
            self._closed = True
            self._beside.shutdown(wait=True)
            self._db.close()

        await asyncio.to_thread(run)
