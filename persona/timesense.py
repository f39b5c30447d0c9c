"""Her sense of time, as rules: the part of the day, how long since you last talked, said as people say it.

Computed, never asked of the model: a 1.5B model cannot count days, but it can use a sentence that did.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from persona.notes import swap_person


@dataclass(frozen=True)
class LastTalk:
    """The conversation before this one: when it ended and the thing said in it that mattered most."""

    ended_at: datetime
    topic: str | None = None  # the person's own words, e.g. "I'm nervous about the move"


def part_of_day(when: datetime) -> str:
    """ "morning", "afternoon", "evening" or "night", by the local hour."""
    hour = when.hour
    if 5 <= hour < 12:
        return "morning"
    if 12 <= hour < 17:
        return "afternoon"
    if 17 <= hour < 22:
        return "evening"
    return "night"


def how_long(seconds: float) -> str | None:
    """A gap as people say it ("almost two weeks", "three days"); None for a gap within the same day."""
    hours = seconds / 3600
    days = hours / 24
    if hours < 12:
        return None
    if days < 1.5:
        return "a day"
    if days < 6.5 or 7.5 <= days < 10.5:
        return f"{_NUMBERS[round(days)]} days"
    if days < 7.5:
        return "a week"
    if days < 14:
        return "almost two weeks"
    if days < 25:
        return f"{_NUMBERS[round(days / 7)]} weeks"
    if days < 45:
        return "about a month"
    if days < 330:
        return f"{_NUMBERS[min(round(days / 30), 10)]} months"
    return "more than a year" if days > 400 else "about a year"


_NUMBERS = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]


def first_sentence(text: str, words: int = 20) -> str:
    """The first sentence of `text`, at most `words` words, without its closing mark."""
    sentence = re.split(r"(?<=[.!?])\s", " ".join(text.split()), maxsplit=1)[0]
    return " ".join(sentence.split()[:words]).rstrip(".!?")


def said_back(text: str, words: int = 20) -> str:
    """What they said, as she says it back mid-sentence: "I'm nervous. It's a lot." -> "you're nervous"."""
    turned = swap_person(first_sentence(text, words))
    return turned if turned.startswith(("I ", "I'")) else turned[:1].lower() + turned[1:]


def time_note(now: datetime, last: LastTalk | None) -> str:
    """The first line of her notes: the date, the weekday, the part of day, and the gap since last time."""
    line = f"Today is {now:%A} {now.day} {now:%B %Y}; it is {part_of_day(now)} ({now:%H:%M})."
    if last is None:
        return line
    gap = how_long((now - last.ended_at).total_seconds())
    if gap is None:
        return line
    said = f"; last time you told me {said_back(last.topic)}" if last.topic else ""
    return f"{line} It's been {gap} since we last talked{said}."
