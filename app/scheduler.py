"""Her initiative: a server-side task that prepares messages that are due and pushes them to open sockets.

A round every `initiative_interval` seconds: quiet conversations go into her journal (app/journal.py), and
for each person with a socket open, the good night they asked for (memory/goodnight.py), a follow-up on a
plan whose day has passed or a check-in after a long silence, unless it is quiet hours, today's budget is
spent, or the person turned it off. The message is stored in the conversation like any of hers, then
sent as a `proactive` frame (docs/PROTOCOL.md). Nothing runs in a browser tab, and nothing here touches a
reply: it only reads and writes small rows through the store's own threads.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.protocol import Proactive
from memory import goodnight, initiative, plans
from memory.db import now_iso
from memory.store_base import MemoryEngine
from persona.clock import iso
from persona.timesense import how_long, part_of_day, said_back

log = logging.getLogger(__name__)

Send = Callable[[Proactive], Awaitable[None]]


@dataclass(frozen=True)
class InitiativeConfig:
    """The knobs of her initiative (from Settings)."""

    enabled: bool = True
    per_day: int = 1  # unprompted messages a day, at most
    quiet_from: int = 22  # local hour quiet hours start (inclusive)
    quiet_to: int = 8  # local hour quiet hours end (exclusive)
    check_in_days: float = 7.0  # a silence this long earns a check-in
    interval_s: float = 60.0


def is_quiet(now: datetime, config: InitiativeConfig) -> bool:
    """Whether `now` falls in quiet hours (which may wrap past midnight)."""
    start, end = config.quiet_from, config.quiet_to
    return start <= now.hour < end if start < end else now.hour >= start or now.hour < end


@dataclass
class Outbox:
    """The open sockets of each person, by conversation: where a due message can go right now."""

    open: dict[str, dict[int, tuple[str, Send]]] = field(default_factory=lambda: defaultdict(dict))

    def add(self, user: str, key: int, conversation: str, send: Send) -> None:
        """A socket said hello: it can receive her messages."""
        self.open[user][key] = (conversation, send)

    def remove(self, user: str, key: int) -> None:
        """A socket closed (or switched user)."""
        self.open.get(user, {}).pop(key, None)
        if user in self.open and not self.open[user]:
            del self.open[user]


async def due_messages(
    store: MemoryEngine, users: list[str], config: InitiativeConfig
) -> dict[str, tuple[str, str]]:
    """The message due for each of `users` now and why ("good_night", "follow_up" or "check_in"); it is
    marked said here, so it goes out once."""
    now = store.clock.now()
    if not config.enabled or is_quiet(now, config) or not users:
        return {}
    # One trip to a reader for the whole round (bench/RESULTS.md, inner life: a trip per person cost
    # about a millisecond each).
    quiet_since = iso(now - timedelta(days=config.check_in_days))
    facts = await store.run_read(initiative.round_facts, users, now.date().isoformat(), quiet_since)
    out = {}
    for user, known in facts.items():
        due, last = await _due(store, user, known, now, config), known[3]
        if due is None:
            continue
        # Once per silence, whichever server claims it first (servers may share one database).
        claim = initiative.mark_checked_in
        if due[1] == "check_in" and last is not None and not await store.run_write(claim, user, last[0]):
            continue
        out[user] = due
    return out


async def _due(
    store: MemoryEngine, user: str, facts: initiative.Facts, now: datetime, config: InitiativeConfig
) -> tuple[str, str] | None:
    off, sent, due, last, night = facts
    if off or sent >= config.per_day:
        return None
    if night is not None:  # asked for, at a time of its own: it goes first
        wish, said_for = night
        tonight = goodnight.due_night(wish, (config.quiet_from, config.quiet_to), now, said_for)
        if tonight is not None and await store.run_write(goodnight.mark_said, user, tonight):
            tomorrow = (now + timedelta(hours=12)).date().isoformat()  # said after midnight: still "tomorrow"
            return good_night(await store.run_read(goodnight.plan_tomorrow, user, tomorrow)), "good_night"
    for memory_id, question in due:
        if await store.run_write(plans.mark_followed_up, memory_id, now_iso(store.clock)):
            return question, "follow_up"
    if last is None:
        return None
    gap = (now - datetime.fromisoformat(last[0])).total_seconds()
    if gap < config.check_in_days * 86400:
        return None
    about = f" I keep thinking about what you told me: {said_back(last[1], 14)}." if last[1] else ""
    spoken = how_long(gap) or "a while"
    return (
        f"It's been {spoken}, and this {part_of_day(now)} I thought of you.{about} How are you?",
        "check_in",
    )


def good_night(plan: str | None) -> str:
    """Her good night; with a word of luck when a plan of theirs is due tomorrow."""
    if plan:
        return f"Good night. Sleep well: tomorrow's the day ({said_back(plan, 14)}), and I'm rooting for you."
    return "Good night. Sleep well, and I'll be here when you wake up."


class Scheduler:
    """The round, on a timer, inside the server's lifespan."""

    def __init__(
        self,
        store: MemoryEngine,
        outbox: Outbox,
        config: InitiativeConfig,
        journal: Callable[[], Awaitable[int]] | None = None,
        learning: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.config = config
        self.journal = journal  # writes up quiet conversations (app/journal.py), each round
        # On a shared database: finishes the learning another server left undone (it died), each round.
        self.learning = learning
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin the rounds (a task of the running loop)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="initiative")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.config.interval_s)
            try:
                await self.round()
            except Exception as exc:  # one bad round must not end her initiative for good
                log.error("initiative round failed: %r", exc)

    async def round(self) -> int:
        """One pass: unfinished learning (shared databases), her journal, then the people with an open
        socket; how many messages went out."""
        if self.learning is not None:
            await self.learning()
        if self.journal is not None:
            await self.journal()
        sent = 0
        due_now = await due_messages(self.store, list(self.outbox.open), self.config)
        for user, (text, reason) in due_now.items():
            sockets = self.outbox.open.get(user)
            if not sockets:  # closed while the round read
                continue
            day = self.store.clock.now().date().isoformat()
            if not await self.store.run_write(initiative.claim_send, user, day, self.config.per_day):
                continue  # the day's budget went meanwhile (to another server sharing the database)
            for conversation, send in {c: s for c, s in sockets.values()}.items():
                turn = await self.store.log_turn(user, conversation, "assistant", text)
                try:
                    await send(Proactive(text=text, reason=reason, turn_id=turn.id))
                except Exception as exc:  # a socket closing mid-send: the message is stored anyway
                    log.info("could not push to %s: %r", user, exc)
            sent += 1
        return sent

    async def aclose(self) -> None:
        """Stop the rounds."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
