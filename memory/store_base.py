"""What a memory engine promises: the narrow interface the app uses, and the rules any engine must keep.

MemoryStore (memory/store.py, SQLite + FAISS + FTS5) is the embedded engine; PgMemoryStore
(memory/pg/store.py, Postgres with pgvector and its full-text search) implements the same methods with the
same semantics, mostly by running the same code:

- Every call is scoped by `user`; nothing returns or changes another user's rows. The shared scope
  (`models.SHARED`, the film reviews) is read-only to users and written only by seeding.
- A write is acknowledged only once it is durable (committed); a read sees every write acknowledged before
  it started. Writes of one engine apply in the order they were asked for.
- Reads never wait for writes: recall is not held up by background learning or a forget.
- `recall` scores with memory/recall.py's pipeline and RecallConfig, so a score means the same everywhere;
  what it recalled is strengthened afterwards, and the user's next recall sees that.
- Forgetting removes the row, its vector, its text in every index and what was derived from it
  (docs/MEMORY.md, "What forgetting removes"); nothing of it may stay readable in the engine's files.
- Accounts are not memory: memory/accounts.py keeps them, and needs no embedder.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

import numpy as np

from memory.embedder import Embedder
from memory.models import Conversation, Kind, Memory, Recalled, Role, Turn
from memory.write import NewMemory
from persona.clock import Clock

T = TypeVar("T")


class MemoryEngine(Protocol):
    """Remember, recall, forget, the conversation log and the export: all async, all scoped by user."""

    embedder: Embedder
    clock: Clock  # stamps every row and scores recency

    async def run_read(self, query: Callable[..., T], *args: Any) -> T:
        """Run `query(conn, *args)` of memory's own SQL modules (plans, mood, journal) in a read."""
        ...

    async def run_write(self, change: Callable[..., T], *args: Any) -> T:
        """Run `change(conn, *args)` of memory's own SQL modules as a transaction of its own."""
        ...

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
        """Store one memory; None when it was a duplicate. A `fact_key` supersedes the current fact."""
        ...

    async def remember_batch(
        self, user: str, items: Sequence[NewMemory], *, vectors: np.ndarray | None = None, dedupe: bool = True
    ) -> list[Memory | None]:
        """Store several memories in one transaction (`vectors`: already embedded); None marks a duplicate."""
        ...

    async def recall(
        self, user: str, query: str, *, k: int, shared: bool = True, now: datetime | None = None
    ) -> list[Recalled]:
        """The k memories most worth recalling for `query` asked at `now` (default: the clock), best first."""
        ...

    async def recall_with_history(
        self, user: str, conversation: str, query: str, *, k: int, history: int
    ) -> tuple[list[Recalled], list[Turn]]:
        """`recall`, then `history`: what a turn reads before it prompts."""
        ...

    async def memories(
        self, user: str, *, query: str | None = None, kind: Kind | None = None, limit: int = 200
    ) -> list[Memory]:
        """A user's memories, newest first; `query` filters by words."""
        ...

    async def count(self, user: str | None = None) -> dict[str, int]:
        """How many memories of each kind (for one user, or all)."""
        ...

    async def forget(self, user: str, memory_id: int) -> int:
        """Forget a memory and what came from the same turns; how many memories went."""
        ...

    async def forget_turn(self, user: str, turn_id: int) -> int:
        """Forget a turn of the log and every memory learned from it; how many memories went."""
        ...

    async def forget_user(self, user: str) -> int:
        """Forget everything stored for a user (memories, turns, conversations); how many memories went."""
        ...

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
        """Append a message to a conversation."""
        ...

    async def history(self, user: str, conversation: str, limit: int) -> list[Turn]:
        """The last `limit` turns of a conversation, oldest first."""
        ...

    async def unlearned_turns(self) -> list[Turn]:
        """Said turns whose learning was cut short, to finish at start."""
        ...

    async def reply_to(self, said: Turn) -> Turn | None:
        """Her complete reply to a said turn, if she gave one (learned with it)."""
        ...

    async def conversations(self, user: str, limit: int = 100) -> list[Conversation]:
        """A user's conversations, most recently active first."""
        ...

    async def export(self, user: str) -> dict[str, Any]:
        """Everything stored for a user, as plain data."""
        ...

    async def seed_digest(self, name: str) -> str | None:
        """The content hash of the seed file `name` as last ingested (None: never)."""
        ...

    async def add_seed(self, name: str, digest: str, items: Sequence[NewMemory]) -> int:
        """Add a seed file's passages to the shared scope and record its digest; how many were new."""
        ...

    async def save_indexes(self) -> None:
        """Make derived state durable where the engine keeps any (index files); may do nothing."""
        ...

    async def verify(self) -> dict[str, dict[str, int | bool]]:
        """Per scope: rows, vectors, and whether the derived index agrees with the stored truth."""
        ...

    async def aclose(self) -> None:
        """Finish queued writes, save derived state and close."""
        ...
