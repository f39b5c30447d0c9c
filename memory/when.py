"""Time in a question: "last weekend", "in March", "two weeks ago" as a span of days (a pure function).

`window(text, now)` reads the first time expression it understands and returns the days it means, counted
from `now` (the moment of the question, passed in by the caller: the server's clock, or a benchmark's
question date). Loose expressions get a margin, since people round ("two weeks ago" may be 11 or 17 days).
Expressions about an event rather than a date ("before I moved") are not resolved here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

MONTHS = "january february march april may june july august september october november december".split()
WEEKDAYS = "monday tuesday wednesday thursday friday saturday sunday".split()
NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "a couple of": 2, "a couple": 2, "a few": 3, "few": 3, "several": 4,
}  # fmt: skip
UNIT_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}

_NUMBER = r"(\d+|a couple of|a couple|a few|several|an?|one|two|three|four|five|six|seven|eight|nine|ten)"
_AGO = re.compile(rf"\b{_NUMBER}\s+(day|week|month|year)s?\s+ago\b")
_PAST = re.compile(rf"\b(?:past|last)\s+{_NUMBER}\s+(day|week|month|year)s?\b")
_LAST = re.compile(r"\b(last|this|past)\s+(weekend|week|month|year|" + "|".join(WEEKDAYS) + r")\b")
_MONTH = re.compile(
    r"\b(?:in|during|on|since|of|early|late|mid)\s+(" + "|".join(MONTHS) + r")\b(?:\s+(\d{4}))?"
)
_MONTH_DAY = re.compile(r"\b(" + "|".join(MONTHS) + r")\s+(\d{1,2})(?:st|nd|rd|th)?\b")
_YEAR = re.compile(r"\b(?:in|during|since)\s+((?:19|20)\d{2})\b")
_WEEKDAY = re.compile(r"\bon\s+(" + "|".join(WEEKDAYS) + r")\b")
_DAYS = {"today": 0, "tonight": 0, "this morning": 0, "yesterday": 1, "the day before yesterday": 2}


@dataclass(frozen=True)
class Window:
    """The days a question points at, both ends included, and the words that said so."""

    start: date
    end: date
    said: str

    def holds(self, stamp: str) -> bool:
        """Whether an ISO date or datetime (as memories store them) falls on one of these days."""
        return self.start.isoformat() <= stamp[:10] <= self.end.isoformat()


def _count(word: str) -> int:
    return int(word) if word.isdigit() else NUMBERS[word]


def _around(day: date, margin: int, said: str) -> Window:
    return Window(day - timedelta(days=margin), day + timedelta(days=margin), said)


def _month(today: date, month: int, year: int | None, said: str) -> Window:
    # A month without a year is the latest one not after today ("in March", asked in May, is this March).
    year = year or (today.year if month <= today.month else today.year - 1)
    end = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return Window(date(year, month, 1), end, said)


def window(text: str, now: datetime) -> Window | None:
    """The days `text` refers to, counted back from `now`; None when it names no time."""
    low = " ".join(text.lower().split())
    today = now.date()
    for words, back in sorted(_DAYS.items(), key=lambda kv: -len(kv[0])):
        if re.search(rf"\b{words}\b", low):
            return Window(today - timedelta(days=back), today - timedelta(days=back), words)
    if m := _AGO.search(low):
        days = _count(m.group(1)) * UNIT_DAYS[m.group(2)]
        # People round: a quarter of the span either side, at least a day (three days for weeks).
        margin = max(1, days // 4, 3 if m.group(2) == "week" else 1)
        return _around(today - timedelta(days=days), margin, m.group(0))
    if m := _PAST.search(low):
        days = _count(m.group(1)) * UNIT_DAYS[m.group(2)]
        return Window(today - timedelta(days=days), today, m.group(0))
    if m := _LAST.search(low):
        which, unit = m.groups()
        return _last(today, which, unit, m.group(0))
    if m := _MONTH_DAY.search(low):
        month, day = MONTHS.index(m.group(1)) + 1, int(m.group(2))
        year = today.year if (month, day) <= (today.month, today.day) else today.year - 1
        try:
            return _around(date(year, month, day), 1, m.group(0))
        except ValueError:  # "February 31"
            pass
    if m := _MONTH.search(low):
        return _month(
            today, MONTHS.index(m.group(1)) + 1, int(m.group(2)) if m.group(2) else None, m.group(0)
        )
    if m := _YEAR.search(low):
        year = int(m.group(1))
        return Window(date(year, 1, 1), date(year, 12, 31), m.group(0))
    if m := _WEEKDAY.search(low):
        return _last(today, "last", m.group(1), m.group(0))
    return None


def _last(today: date, which: str, unit: str, said: str) -> Window:
    """`last|this|past` + weekend, week, month, year or a weekday."""
    if which == "past" and unit in UNIT_DAYS:  # "the past week": the last seven days, not last calendar week
        return Window(today - timedelta(days=UNIT_DAYS[unit]), today, said)
    if unit in WEEKDAYS:
        back = (today.weekday() - WEEKDAYS.index(unit)) % 7 or 7  # the latest one before today
        return _around(today - timedelta(days=back), 1, said)
    if unit == "weekend":
        saturday = today - timedelta(days=(today.weekday() - 5) % 7 or 7)
        if which == "this" and today.weekday() >= 5:
            saturday = today - timedelta(days=today.weekday() - 5)
        return Window(saturday - timedelta(days=1), saturday + timedelta(days=1), said)  # Friday to Sunday
    if unit == "week":
        monday = today - timedelta(days=today.weekday())
        if which == "this":
            return Window(monday, today, said)
        return Window(monday - timedelta(days=7), monday - timedelta(days=1), said)
    if unit == "month":
        first = today.replace(day=1)
        if which == "this":
            return Window(first, today, said)
        previous = first - timedelta(days=1)
        return Window(previous.replace(day=1), previous, said)
    if which == "this":
        return Window(date(today.year, 1, 1), today, said)
    return Window(date(today.year - 1, 1, 1), date(today.year - 1, 12, 31), said)
