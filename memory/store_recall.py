"""What both memory engines do around their own recall: the async front, the history beside it, the trace.

A mixin like memory/store_write.py: the engine supplies `_recall` (its own search: FAISS or pgvector),
`_db` (whose `read` runs a query on a reader connection) and `_strengthening` (per user, the last
recall's trace being written).
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Future
from datetime import datetime
from typing import Any

from memory import turns
from memory.models import Recalled, Turn

log = logging.getLogger(__name__)


class Recalling:
    """Recall's front, the same on every engine."""

    _db: Any
    _strengthening: dict[str, Future[Any]]

    def _recall(
        self, user: str, query: str, k: int, shared: bool, now: datetime | None = None
    ) -> list[Recalled]:
        """The engine's recall (blocking: runs in a thread)."""
        raise NotImplementedError

    async def recall(
        self, user: str, query: str, *, k: int, shared: bool = True, now: datetime | None = None
    ) -> list[Recalled]:
        """The k memories most worth recalling for `query` asked at `now` (default: the clock's time)."""
        if k <= 0 or not query.strip():
            return []
        return await asyncio.to_thread(self._recall, user, query, k, shared, now)

    async def recall_with_history(
        self, user: str, conversation: str, query: str, *, k: int, history: int
    ) -> tuple[list[Recalled], list[Turn]]:
        """`recall`, then `history`: what a turn reads before it prompts, in one trip to a thread."""

        def run() -> tuple[list[Recalled], list[Turn]]:
            found = self._recall(user, query, k, True) if k > 0 and query.strip() else []
            return found, self._db.read(turns.recent, user, conversation, history)

        return await asyncio.to_thread(run)

    def _settle(self, user: str) -> None:
        """Wait for this user's last strengthening, so their next recall sees it."""
        pending = self._strengthening.pop(user, None)
        if pending is not None:
            try:
                pending.result()
            except Exception as exc:  # a trace not left is no reason to fail a turn
                log.warning("could not strengthen recalled memories: %s", exc)
