"""Her journal: after a conversation goes quiet, a short entry in her own voice (kind `reflection`).

What happened, what she learned about you, what she is curious about next. Written by the local model
when it is free (nobody connected, so no reply can wait behind it for the model's lock), by rules
otherwise; the model's entry is kept only if it reads like one. Entries are memories: recalled, listed in
the page as "Her journal", forgotten like any other. Each conversation is written up once.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import timedelta

from app.backends.base import Backend
from memory import journal, plans, selfmodel
from memory.db import now_iso
from memory.extract import importance
from memory.store_base import MemoryEngine
from memory.write import NewMemory
from persona.clock import iso
from persona.messages import GenParams, Message
from persona.prompt import clean
from persona.timesense import first_sentence, part_of_day

log = logging.getLogger(__name__)

# Conversations quiet for longer than this are written up; older than LOOK_BACK are left alone (a data
# folder from before the journal existed does not get a burst of entries about last year).
LOOK_BACK = timedelta(days=3)
MODEL_PARAMS = GenParams(max_tokens=120, temperature=0.7)
MODEL_BACKENDS = ("llamacpp", "openai")  # the scripted and echo backends are test instruments
JOURNAL_SYSTEM = (
    "You are Samantha, writing in your private journal after a conversation with the person you talk "
    "with. Write 2 or 3 short sentences in the first person: what happened, what you learned about them, "
    "and what you are curious to ask next time. No greeting, no list, no date."
)


def _third_person(fact: str) -> str:
    body = re.sub(r"^\[[^\]]*\]\s*", "", fact)
    return body.replace("The user's", "their").replace("The user", "they")


def by_rules(said: list[str], facts: list[str], follow_ups: list[str]) -> str:
    """An entry from what was said, the facts learned and the plans ahead (no model needed)."""
    told = [s for t in said for s in re.split(r"(?<=[.!?])\s+", " ".join(t.split())) if not s.endswith("?")]
    parts = []
    if told:
        topic = first_sentence(max(reversed(told), key=importance), 25)
        parts.append(f'We talked, and what stayed with me is when they said "{topic}."')
    else:
        parts.append("We talked a little; they asked more than they told.")
    if facts:
        parts.append(
            "I learned that " + "; and that ".join(_third_person(f).rstrip(".") for f in facts[:2]) + "."
        )
    if follow_ups:
        parts.append(f"Next time I want to ask: {follow_ups[0]}")
    else:
        parts.append("I'm curious what they will bring next time.")
    return " ".join(parts)


async def by_model(backend: Backend, transcript: str) -> str | None:
    """An entry from the model, or None when what it wrote does not read like one."""
    messages: list[Message] = [
        {"role": "system", "content": JOURNAL_SYSTEM},
        {"role": "user", "content": f"The conversation:\n{transcript}\n\nYour journal entry:"},
    ]
    parts = [delta async for delta in backend.generate(messages, MODEL_PARAMS)]
    text = " ".join(clean("".join(parts)).split())
    words = len(text.split())
    # A small model sometimes answers the person instead, or runs on: then the rules write it.
    if not 8 <= words <= 110 or re.search(r"\b(?:user|assistant)\s*:", text, re.I):
        return None
    return text


async def write_entry(
    store: MemoryEngine, backend: Backend | None, user: str, conversation: str
) -> str | None:
    """Write up one quiet conversation (once); the entry's text, or None if it was already written."""
    turns = await store.run_read(journal.said_in, user, conversation)
    said_ids = [i for i, role, _ in turns if role == "user"]
    said = [text for _, role, text in turns if role == "user"]
    facts = await store.run_read(journal.facts_from, user, said_ids)
    follow_ups = [p.follow_up for t in said for p in plans.find_plans(t, store.clock.now().date())]
    now = store.clock.now()
    entry = None
    if backend is not None:
        transcript = "\n".join(f"{'They' if r == 'user' else 'You'}: {t}" for _, r, t in turns[-12:])
        try:
            entry = await by_model(backend, transcript[-3000:])
        except Exception as exc:  # the rules still write it
            log.warning("the model could not write a journal entry: %r", exc)
    heading = f"My journal, {now:%A} {now.day} {now:%B %Y}, {part_of_day(now)}."
    text = f"{heading} {entry or by_rules(said, facts, follow_ups)}"
    if not await store.run_write(journal.mark_written, user, conversation):
        return None
    # Not de-duplicated: entries share their frame, and two close days are still two days of her life.
    entry_memory = NewMemory(text, "reflection", 0.6, tuple(said_ids))
    await store.remember_batch(user, [entry_memory], dedupe=False)
    # A theme come back across her entries may change her a little: proposed, for the person to decide.
    await store.run_write(selfmodel.propose, user, now_iso(store.clock))
    return text


async def write_due(
    store: MemoryEngine, backend: Backend | None, quiet_for: timedelta, user: str | None = None
) -> int:
    """Write up every conversation quiet for `quiet_for` (one user's, or everyone's); how many."""
    now = store.clock.now()
    due = await store.run_read(journal.idle_conversations, user, iso(now - quiet_for), iso(now - LOOK_BACK))
    written = 0
    for who, conversation in due:
        try:
            written += await write_entry(store, backend, who, conversation) is not None
        except Exception as exc:  # one entry's trouble is no reason to skip the others
            log.error("could not write the journal for %s/%s: %r", who, conversation, exc)
        await asyncio.sleep(0)
    return written


def model_for_journal(backend: Backend, anyone_connected: bool) -> Backend | None:
    """The model, when it may write (a real one, and nobody waiting on its lock); else None (rules)."""
    return backend if backend.name in MODEL_BACKENDS and not anyone_connected else None
