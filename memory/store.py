"""MemoryStore: remember, recall, forget, log and export; every call scoped by user."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from memory import forget, recall, rows, turns, users, words, write
from memory.embedder import Embedder
from memory.index import IndexConfig
from memory.models import SHARED, Conversation, Kind, Memory, MemoryError_, Recalled, Role, Turn
from memory.recall import RecallConfig
from memory.store_base import DB_FILE, StoreBase

__all__ = ["DB_FILE", "MemoryStore", "now_iso"]

log = logging.getLogger(__name__)


def now_iso() -> str:
    """The current local time, ISO 8601 with offset, to the second."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


class MemoryStore(StoreBase):
    """SQLite (truth) + one FAISS index per user (derived) + FTS5 (lexical). Blocking work runs in threads."""

    @classmethod
    async def open(
        cls,
        data_dir: Path,
        embedder: Embedder,
        passphrase: str | None = None,
        *,
        recall_config: RecallConfig | None = None,
        index_config: IndexConfig | None = None,
    ) -> MemoryStore:
        """Open the store without blocking the event loop (encrypted when given a passphrase)."""
        return await asyncio.to_thread(
            cls, data_dir, embedder, passphrase, recall_config=recall_config, index_config=index_config
        )

    # -- writing memories ---------------------------------------------------------------------

    def add_batch(
        self,
        user: str,
        items: Sequence[write.NewMemory],
        *,
        vectors: np.ndarray | None = None,
        dedupe: bool = True,
    ) -> list[Memory | None]:
        """Embed and store many memories in one transaction (blocking). None marks a duplicate skipped."""
        if not items:
            return []
        if vectors is None:
            vectors = self.embedder.embed([item.embed_text or item.text for item in items])
        with self._tx() as c:
            return write.insert(c, self.index(user), user, items, vectors, stamp=now_iso(), dedupe=dedupe)

    async def remember(
        self,
        user: str,
        text: str,
        *,
        kind: Kind,
        source: Sequence[int] = (),
        importance: float = 0.5,
        fact_key: str | None = None,
    ) -> Memory | None:
        """Store one memory (acknowledged once SQLite committed it); None when it was a duplicate.

        With a `fact_key`, the fact supersedes the user's current fact of that key: the old one gets a
        valid-to date and is no longer recalled, but stays in the history.
        """
        item = write.NewMemory(text, kind, importance, tuple(source), fact_key=fact_key)
        return (await self.remember_batch(user, [item]))[0]

    async def remember_batch(self, user: str, items: Sequence[write.NewMemory]) -> list[Memory | None]:
        """Store several memories with one embedding batch and one transaction."""
        if user == SHARED:
            raise MemoryError_("the shared scope is read-only")
        return await asyncio.to_thread(self.add_batch, user, items)

    # -- reading ------------------------------------------------------------------------------

    async def recall(self, user: str, query: str, *, k: int, shared: bool = True) -> list[Recalled]:
        """The k memories most worth recalling for `query`: this user's, plus shared seed passages."""
        if k <= 0 or not query.strip():
            return []
        return await asyncio.to_thread(self._recall, user, query, k, shared)

    async def recall_with_history(
        self, user: str, conversation: str, query: str, *, k: int, history: int
    ) -> tuple[list[Recalled], list[Turn]]:
        """`recall`, then `history`: what a turn reads before it prompts, in one trip to a thread."""

        def run() -> tuple[list[Recalled], list[Turn]]:
            found = self._recall(user, query, k, True) if k > 0 and query.strip() else []
            return found, self._read(turns.recent, user, conversation, history)

        return await asyncio.to_thread(run)

    def _recall(self, user: str, query: str, k: int, shared: bool) -> list[Recalled]:
        scopes = [user, SHARED] if shared else [user]
        # The lexical search needs no vector: it runs on the other core while the question is embedded
        # (both release the GIL), which takes its ~2-5 ms off each turn.
        config = self.recall_config
        lexical = self._beside.submit(self._read, recall.lexical_candidates, scopes, query, k, config)
        vector = self.embedder.embed([query])[0]
        found = lexical.result()  # before taking the lock: the lookup holds it
        now = datetime.now().astimezone()
        with self._lock:
            indexes = {s: self.index(s) for s in scopes}
            out = recall.run(self._conn, indexes, vector, query, k, config, now=now, lexical=found)
            if config.strengthen:
                recall.strengthen(self._conn, [r.memory.id for r in out if r.memory.user != SHARED], now)
            return out

    async def memories(
        self, user: str, *, query: str | None = None, kind: Kind | None = None, limit: int = 200
    ) -> list[Memory]:
        """List a user's memories, newest first; `query` filters by words (full-text)."""

        def run() -> list[Memory]:
            sql = "SELECT m.* FROM memories m WHERE m.user = ?"
            params: list[Any] = [user]
            if kind:
                sql += " AND m.kind = ?"
                params.append(kind)
            if query and query.strip():
                match = words.fts_query(query, any_word=False)
                if not match:  # no words at all (an emoji, punctuation): nothing can match, and FTS5
                    return []  # would call an empty query a syntax error
                sql += " AND m.id IN (SELECT rowid FROM memories_fts WHERE memories_fts MATCH ?)"
                params.append(match)
            sql += " ORDER BY m.id DESC LIMIT ?"
            params.append(limit)
            return [rows.to_memory(self._conn, r) for r in self._q(sql, params)]

        return await asyncio.to_thread(run)

    async def count(self, user: str | None = None) -> dict[str, int]:
        """How many memories of each kind (for one user, or all)."""
        where, params = (" WHERE user = ?", (user,)) if user else ("", ())
        sql = f"SELECT kind, COUNT(*) AS n FROM memories{where} GROUP BY kind"
        return {r["kind"]: r["n"] for r in await asyncio.to_thread(self._q, sql, params)}

    # -- forgetting ---------------------------------------------------------------------------

    async def forget(self, user: str, memory_id: int) -> int:
        """Remove a memory: its row, vector and FTS entry, and everything derived from the same turns.

        A remembered turn also takes the turn itself out of the conversation log. Returns how many
        memories went (0 when this user has no such memory).
        """
        return await asyncio.to_thread(self._forget, user, memory_id)

    def _forget(self, user: str, memory_id: int) -> int:
        if not 0 < memory_id < 2**63:  # SQLite rowids are signed 64-bit: nothing else can exist
            return 0
        with self._tx() as c:
            removed = forget.memory(c, user, memory_id)
            if removed is None:
                owner = c.execute("SELECT user FROM memories WHERE id = ?", (memory_id,)).fetchone()["user"]
                if owner == SHARED:
                    raise MemoryError_("seed passages are shared and read-only")
                return 0  # another user's memory: to this user it does not exist
            self.index(user).remove(removed)
            if removed:
                forget.scrub(c)
        if removed:
            self._leave_no_copy(user)
        return len(removed)

    def _leave_no_copy(self, user: str) -> None:
        """After forgetting: the index file without the vectors, and the write-ahead log emptied."""
        with self._lock:
            index = self._indexes.get(user)
            if index is not None and index.dirty and self._files.persist:
                index.save(self._files.path(user))
                self._files.write_manifest()
            forget.checkpoint(self._conn)

    async def forget_turn(self, user: str, turn_id: int) -> int:
        """Remove a turn from the log and every memory learned from it; returns how many memories went."""

        def run() -> int:
            if not 0 < turn_id < 2**63:
                return 0
            with self._tx() as c:
                removed = forget.turns(c, user, [turn_id])
                self.index(user).remove(removed)
                forget.scrub(c)
            self._leave_no_copy(user)
            return len(removed)

        return await asyncio.to_thread(run)

    # -- the conversation log -----------------------------------------------------------------

    async def log_turn(
        self,
        user: str,
        conversation: str,
        role: Role,
        text: str,
        *,
        status: str = "complete",
        learned: bool | None = None,
    ) -> Turn:
        """Append a message to a conversation (acknowledged once SQLite committed it)."""

        def run() -> Turn:
            with self._tx() as c:
                return turns.insert(c, user, conversation, role, text, status, now_iso(), learned)

        return await asyncio.to_thread(run)

    async def history(self, user: str, conversation: str, limit: int) -> list[Turn]:
        """The last `limit` turns of a conversation, oldest first."""
        return await asyncio.to_thread(self._read, turns.recent, user, conversation, limit)

    async def unlearned_turns(self) -> list[Turn]:
        """Said turns whose learning was cut short (by a crash), to finish at start."""
        return await asyncio.to_thread(self._read, turns.unlearned)

    async def conversations(self, user: str, limit: int = 100) -> list[Conversation]:
        """A user's conversations, most recently active first."""
        return await asyncio.to_thread(self._read, turns.conversations, user, limit)

    async def export(self, user: str) -> dict[str, Any]:
        """Everything stored for a user: memories (without vectors) and every turn."""
        return {
            "user": user,
            "exported_at": now_iso(),
            "memories": await asyncio.to_thread(self._read, rows.exported, user),
            "turns": await asyncio.to_thread(self._read, turns.all_turns, user),
        }

    # -- accounts -----------------------------------------------------------------------------

    async def add_user(self, name: str) -> str:
        """Create a user (or re-enable a revoked one); returns the new access token, shown only once."""
        return await asyncio.to_thread(self._write, users.add, name, now_iso())

    async def users(self) -> list[users.User]:
        """Every account."""
        return await asyncio.to_thread(self._read, users.listed)

    async def revoke_user(self, name: str) -> bool:
        """Stop a user's token from working; their memories stay."""
        return await asyncio.to_thread(self._write, users.revoke, name, now_iso())

    async def user_for_token(self, token: str) -> str | None:
        """The active user holding this token."""
        return await asyncio.to_thread(self._read, users.for_token, token)

    async def accounts_ever_existed(self) -> bool:
        """Whether tokens are needed: true as soon as any account was ever created, for good."""
        return await asyncio.to_thread(self._read, users.ever_existed)

    async def active_users(self) -> int:
        """How many users can log in (0: the single local user mode)."""
        return await asyncio.to_thread(self._read, users.active_count)

    async def delete_user(self, name: str) -> int:
        """Remove a user and everything stored for them: memories, vectors, turns, conversations."""

        def run() -> int:
            count = self._write(users.delete_everything, name)
            with self._lock:
                self._indexes.pop(name, None)
                self._files.path(name).unlink(missing_ok=True)
                self._write(forget.scrub)
                forget.checkpoint(self._conn)
            return count

        return await asyncio.to_thread(run)
