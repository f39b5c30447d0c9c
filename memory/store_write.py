"""What both memory engines do before their own insert: the shared scope refused, texts embedded once.

A mixin like memory/store_log.py: the engine supplies `embedder`, `_read`, `_write` and `_insert` (its own
transaction: SQLite's writer thread with FAISS, or Postgres with pgvector).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

from memory import write
from memory.embedder import Embedder
from memory.models import SHARED, Kind, Memory, MemoryError_

T = TypeVar("T")


class Remembering:
    """Writing memories and running memory's own modules, the same on every engine."""

    embedder: Embedder

    async def _read(self, query: Callable[..., T], *args: Any) -> T:
        raise NotImplementedError

    async def _write(self, change: Callable[..., T], *args: Any) -> T:
        raise NotImplementedError

    def _insert(
        self, conn: Any, user: str, items: Sequence[write.NewMemory], vectors: np.ndarray, dedupe: bool
    ) -> list[Memory | None]:
        """Write the items in the engine's transaction (called on its writer)."""
        raise NotImplementedError

    async def run_read(self, query: Callable[..., T], *args: Any) -> T:
        """Run a query of memory's own modules (plans, timeline) on a reader connection, in a thread."""
        return await self._read(query, *args)

    async def run_write(self, change: Callable[..., T], *args: Any) -> T:
        """Run a change of memory's own modules in the one writer, as a transaction of its own."""
        return await self._write(change, *args)

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
        """Store one memory (acknowledged once committed); None when it was a duplicate."""
        # With a `fact_key`, the fact supersedes the user's current fact of that key: the old one gets a
        # valid-to date and is no longer recalled, but stays in the history.
        item = write.NewMemory(text, kind, importance, tuple(source), fact_key=fact_key)
        return (await self.remember_batch(user, [item]))[0]

    async def remember_batch(
        self,
        user: str,
        items: Sequence[write.NewMemory],
        *,
        vectors: np.ndarray | None = None,
        dedupe: bool = True,
    ) -> list[Memory | None]:
        """Store several memories with one embedding batch and one transaction; None marks a duplicate."""
        if user == SHARED:
            raise MemoryError_("the shared scope is read-only")
        if not items:
            return []
        if vectors is None:
            vectors = await asyncio.to_thread(self.embedder.embed, [i.embed_text or i.text for i in items])
        return await self._write(self._insert, user, items, vectors, dedupe)
