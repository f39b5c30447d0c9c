"""The conversation log side of MemoryStore: turns appended, read back and exported (one responsibility).

A mixin: MemoryStore supplies `_read` (a reader connection in a thread) and `_write` (the writer thread).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from memory import rows, turns
from memory.db import now_iso
from memory.models import Conversation, Role, Turn
from persona.clock import Clock

T = TypeVar("T")


class ConversationLog:
    """Appending and reading a user's conversations (mixed into MemoryStore)."""

    clock: Clock  # the store's clock: every turn is stamped with it

    async def _read(self, query: Callable[..., T], *args: Any) -> T:
        raise NotImplementedError

    async def _write(self, change: Callable[..., T], *args: Any) -> T:
        raise NotImplementedError

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
        return await self._write(
            lambda c: turns.insert(c, user, conversation, role, text, status, now_iso(self.clock), learned)
        )

    async def history(self, user: str, conversation: str, limit: int) -> list[Turn]:
        """The last `limit` turns of a conversation, oldest first."""
        return await self._read(turns.recent, user, conversation, limit)

    async def unlearned_turns(self) -> list[Turn]:
        """Said turns whose learning was cut short (by a crash), to finish at start."""
        return await self._read(turns.unlearned)

    async def reply_to(self, said: Turn) -> Turn | None:
        """Her complete reply to a said turn, if she gave one (learned with it)."""
        return await self._read(turns.reply_to, said)

    async def conversations(self, user: str, limit: int = 100) -> list[Conversation]:
        """A user's conversations, most recently active first."""
        return await self._read(turns.conversations, user, limit)

    async def export(self, user: str) -> dict[str, Any]:
        """Everything stored for a user: memories (without vectors) and every turn."""
        return {
            "user": user,
            "exported_at": now_iso(self.clock),
            "memories": await self._read(rows.exported, user),
            "turns": await self._read(turns.all_turns, user),
        }
