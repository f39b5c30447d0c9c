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

from app.protocol import MoodOut
from memory import goodnight, initiative, mood, plans, timeline
from memory.db import now_iso
from memory.extract import importance
from memory.models import Turn
from memory.mood import faded
from memory.store_base import MemoryEngine
from memory.write import NewMemory
from persona.persona import Persona
from persona.timesense import LastTalk, first_sentence, how_long, part_of_day, said_back

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


async def greet(store: MemoryEngine, persona: Persona, user: str, conversation: str) -> Greeting:
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


async def learn_plans(store: MemoryEngine, said: Turn) -> None:
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


async def learn_good_night(store: MemoryEngine, said: Turn) -> None:
    """Keep a good night the person asked for in words, or stop them when asked to."""
    wanted = goodnight.heard(said.text)
    if wanted is None:
        return
    try:
        await store.run_write(goodnight.set_wish, said.user, wanted or None)
        log.info("good night for %s: %s", said.user, wanted.stored() if wanted else "off")
    except Exception as exc:  # best effort, like all learning
        log.error("could not keep the good night asked for in turn %d: %r", said.id, exc)


async def good_night_note(store: MemoryEngine, user: str, text: str, quiet: tuple[int, int] | None) -> str:
    """A line of her notes when the person asks for a good night (or to stop): what is arranged, so her
    reply neither promises what will not happen nor says she cannot; "" for any other message."""
    wanted = goodnight.heard(text)  # a regular expression: microseconds on every message
    if wanted is None:
        return ""
    if wanted is False:
        return "They asked you to stop saying good night: it is done; you won't any more."
    if quiet is None or await store.run_read(initiative.is_off, user):
        return (
            "They asked you for a good night, but you cannot message them first (it is switched off): say so "
            "kindly."
        )
    said_at = goodnight.effective(wanted.at, quiet)
    when = (
        f"at {said_at:%H:%M}"
        if said_at == wanted.at
        else f"at {said_at:%H:%M}, just before your quiet hours (they asked for {wanted.at:%H:%M})"
    )
    often = "every night" if wanted.daily else "tonight"
    return f"They asked you to say good night {often}: it is arranged, you will say it {when}. Say so simply."


async def learn_mood(store: MemoryEngine, said: Turn) -> None:
    """Let news in what the person said move her mood (rules), with its cause and the turn behind it."""
    moved = mood.react(said.text)
    if moved is None:
        return
    cause = f'you told me "{first_sentence(said.text, 16)}"'
    try:
        await store.run_write(mood.record, said.user, said.created_at, *moved, cause, said.id)
    except Exception as exc:  # best effort, like all learning
        log.error("could not record her mood after turn %d: %r", said.id, exc)


async def current_mood(store: MemoryEngine, user: str) -> mood.Mood | None:
    """Her mood with this person now (faded by time); None when she is simply calm."""
    last = await store.run_read(mood.latest, user)
    if last is None:
        return None
    now = faded(last, store.clock.now())
    return None if now.word == "calm" else now


def mood_line(now: mood.Mood, at: datetime) -> str:
    """Her mood as a sentence of her notes, so it colours her tone (never the subject of the reply)."""
    ago = how_long((at - datetime.fromisoformat(now.since)).total_seconds())
    return (
        f"You feel {now.word}, because {now.cause}{f' ({ago} ago)' if ago else ''}. Let it colour your "
        "tone gently; the conversation is about them, not your mood."
    )


async def mood_for_turn(store: MemoryEngine, user: str, text: str) -> mood.Mood | None:
    """Her mood as she answers `text`: moved by news in it at once (the rules are microseconds), else
    as it was, faded. Learning records the change after the reply."""
    moved = mood.react(text)
    if moved is not None:
        cause = f'you told me "{first_sentence(text, 16)}"'
        return mood.Mood(*moved, cause, store.clock.now().isoformat(timespec="seconds"))
    return await current_mood(store, user)


def mood_out(now: mood.Mood | None) -> MoodOut | None:
    """Her mood as the page shows it (None: calm)."""
    if now is None:
        return None
    return MoodOut(word=now.word, valence=now.valence, energy=now.energy, cause=now.cause, since=now.since)
