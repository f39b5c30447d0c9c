"""Her sense of time and of your life, at the edges of a conversation: the greeting and your plans.

On hello: how long since you last talked and what about (for the prompt's first note), and a greeting
that follows up on a plan whose day has passed, once, or notices a long silence. After a message (in
the background, with the rest of learning): plans found in it are kept, and "don't ask me about that"
hushes one. Nothing here runs on the path of a reply.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from memory import plans, timeline
from memory.db import now_iso
from memory.extract import importance
from memory.models import Turn
from memory.store import MemoryStore
from memory.write import NewMemory
from persona.persona import Persona
from persona.timesense import LastTalk, how_long, part_of_day, said_back

log = logging.getLogger(__name__)

# After this long apart her greeting says so (shorter gaps are just "hello again").
NOTICE_GAP_S = 2 * 86400


@dataclass(frozen=True)
class Greeting:
    """What she says on hello, whether it was unprompted (then it is stored as her message), and the last
    conversation before this one (for the prompt's time note)."""

    text: str
    unprompted: bool
    last: LastTalk | None


def _hello(now: datetime) -> str:
    return {"morning": "Good morning", "afternoon": "Good afternoon", "evening": "Good evening"}.get(
        part_of_day(now), "Hi"
    )


async def greet(store: MemoryStore, persona: Persona, user: str, conversation: str) -> Greeting:
    """Her greeting for this conversation; a follow-up it carries is marked asked, so it is asked once."""
    now = store.clock.now()
    found = await store.run_read(timeline.last_talk, user, conversation)
    if found is None:
        return Greeting(persona.greeting, False, None)
    last = LastTalk(datetime.fromisoformat(found[0]), found[1])
    for memory_id, question in await store.run_read(plans.due_follow_ups, user, now.date()):
        if await store.run_write(plans.mark_followed_up, memory_id, now_iso(store.clock)):
            return Greeting(f"{_hello(now)}! {question}", True, last)
    gap = (now - last.ended_at).total_seconds()
    spoken = how_long(gap)
    if gap >= NOTICE_GAP_S and spoken:
        about = f" Last time you told me {said_back(last.topic, 14)}." if last.topic else ""
        return Greeting(f"{_hello(now)}. It's been {spoken}.{about} How have you been?", True, last)
    return Greeting(f"{_hello(now)}, good to hear from you again.", False, last)


async def learn_plans(store: MemoryStore, said: Turn) -> None:
    """Keep the plans in what the person said (kind `plan`, with their day), and hush one if asked to."""
    try:
        if (about := plans.hush_request(said.text)) is not None:
            hushed = await store.run_write(plans.hush, said.user, about)
            log.info("hushed %d plan(s) of %s", hushed, said.user)
            return
        when = datetime.fromisoformat(said.created_at)
        found = plans.find_plans(said.text, when.date())
        if not found:
            return
        day = said.created_at[:10]
        # Worded as what they told her, with the day spelled out: it reads as her note in the prompt.
        items = [
            NewMemory(
                f"[{day}] user: {p.said} ({p.spoken})", "plan", max(0.7, importance(p.said)), (said.id,)
            )
            for p in found
        ]
        stored = await store.remember_batch(said.user, items)
        for plan, memory in zip(found, stored, strict=True):
            if memory is not None:
                await store.run_write(plans.set_due, memory.id, plan.due, plan.follow_up)
    except Exception as exc:  # best effort, like all learning: the turn itself is already stored
        log.error("could not keep the plans in turn %d: %r", said.id, exc)
