"""Learning from what the person said, in the background: their words and the facts in them."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Coroutine
from typing import Any

from app.backends.base import Backend
from app.fact_model import extract_with_model
from app.presence import learn_good_night, learn_mood, learn_plans
from memory.extract import extract_facts, importance
from memory.models import Turn
from memory.store_base import MemoryEngine
from memory.turns import turn_memories
from memory.write import NewMemory

log = logging.getLogger(__name__)


class Learner:
    """Learning from an exchange runs in the background; a user's next recall waits for it first."""

    def __init__(self) -> None:
        self._tasks: dict[str, set[asyncio.Task[None]]] = defaultdict(set)

    def spawn(self, user: str, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` in the background for `user`."""
        task = asyncio.create_task(work)
        self._tasks[user].add(task)
        task.add_done_callback(self._tasks[user].discard)

    async def settle(self, user: str) -> None:
        """Wait until everything learned for `user` so far is stored."""
        if self._tasks.get(user):
            await asyncio.wait(set(self._tasks[user]))

    async def aclose(self) -> None:
        """Let every pending piece of learning finish (at shutdown)."""
        pending = {t for tasks in self._tasks.values() for t in tasks}
        if pending:
            await asyncio.wait(pending)


async def learn(
    store: MemoryEngine, backend: Backend, model_facts: bool, said: Turn, reply: Turn | None = None
) -> None:
    """Remember what the person said, the facts in it, and her `reply` (her own words are memories too).

    The turn is marked learned in the same transaction, so one cut short (SIGKILL) is learned at the
    next start (see `Services.finish_learning`).
    """
    try:
        facts = await extract_with_model(backend, said.text) if model_facts else extract_facts(said.text)
        day = said.created_at[:10]
        # Stored with date and speaker (what the model reads); embedded as said (what questions match).
        items = turn_memories(said) + [
            NewMemory(
                f"[{day}] {f.text}",
                "fact",
                importance(f.text, is_fact=True),
                (said.id,),
                fact_key=f.key,
                embed_text=f.said,
            )
            for f in facts
        ]
        # Written after the person's turn, so her reply follows it in the sitting (memory/context.py).
        items += turn_memories(reply) if reply is not None else []
        await store.remember_batch(said.user, items)
    except Exception as exc:  # learning is best effort; the turn itself is already stored
        log.error("could not remember turn %d: %r", said.id, exc)
    await learn_plans(store, said)  # plans ahead of them, with their day (app/presence.py)
    await learn_mood(store, said)  # news that moves her mood
    await learn_good_night(store, said)  # "say good night to me at 23:00" (memory/goodnight.py)
