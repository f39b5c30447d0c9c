"""Plans: things ahead of the person ("my interview is on Thursday"), with the day they are due.

Found by rules (a date must be right, so the model is not asked), resolved against the time they were said,
and stored as memories of kind `plan` (listed, recalled and forgotten like any other). After the day, her
greeting follows up once; "don't ask me about that" hushes it.
"""

from __future__ import annotations

import calendar
import re
import sqlite3
from dataclasses import dataclass
from datetime import date, timedelta

_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_MONTHS = [m.lower() for m in calendar.month_name[1:]]
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
_WHEN = (
    r"(?P<when>(?i:today|tonight|tomorrow|next week"
    rf"|(?:(?:this|next|on)\s+)?(?:{'|'.join(_WEEKDAYS)})"
    rf"|(?:on\s+)?(?:the\s+)?{_DAY}\s+(?:of\s+)?(?:{'|'.join(_MONTHS)})"
    rf"|(?:(?:in|this|next|on)\s+)?(?:{'|'.join(_MONTHS)})(?:\s+{_DAY})?))\b"
)
# What is ahead: "my interview", "our trip to Rome", "Jonas's wedding"; then "is/'s/will be" or nothing.
_WHAT = r"(?P<what>(?:my|our|[A-Z][a-z]+'s)\s+(?:[a-z]+(?:'s)?\s+){0,3}?[a-z]+)"
_PLANS = [
    re.compile(rf"{_WHAT}\s+(?:is|are|will be|'s)\s+(?:on\s+|in\s+)?{_WHEN}", re.I),
    re.compile(
        rf"\bI(?:'ve| have)?\s+(?:got\s+)?(?:a|an)\s+(?P<thing>(?:[a-z]+\s+){{0,2}}?[a-z]+)\s+{_WHEN}", re.I
    ),
    re.compile(rf"{_WHAT}\s+(?:in|on)\s+{_WHEN}"),
]
_HUSH = re.compile(
    r"\b(?:don'?t|do not|please don'?t|stop|no need to)\s+(?:ask|asking)\s+(?:me\s+)?about\s+"
    r"(?P<about>[^.!?,;]+)",
    re.I,
)


# Words that point at a plan without naming it: "don't ask me about that again".
_VAGUE = {"that", "it", "this", "the", "my", "our", "again", "anymore", "any", "more", "one", "please"}


@dataclass(frozen=True)
class Plan:
    """A plan found in what was said: its words, the day it is due, and the question to follow up with."""

    said: str  # "my interview is on Thursday"
    due: date
    follow_up: str  # "How did Thursday's interview go?"
    exact: bool = True  # False for a month ("in December"): due at its end

    @property
    def spoken(self) -> str:
        """The day as people say it: "Thursday 3 December 2026", or "December 2026" for a month."""
        return f"{self.due:%A} {self.due.day} {self.due:%B %Y}" if self.exact else f"{self.due:%B %Y}"


def _resolve(when: str, today: date) -> tuple[date, str | None] | None:
    """The day `when` names, said on `today`, and its weekday when it was named by one."""
    words = when.lower().split()
    if words[-1] in ("today", "tonight"):
        return today, None
    if words[-1] == "tomorrow":
        return today + timedelta(days=1), None
    if words == ["next", "week"]:
        return today + timedelta(days=7), None
    if words[-1] in _WEEKDAYS:
        ahead = (_WEEKDAYS.index(words[-1]) - today.weekday()) % 7 or 7
        if words[0] == "next" and ahead < 7 - today.weekday():  # "next Friday" said on a Monday: not this one
            ahead += 7
        return today + timedelta(days=ahead), words[-1].capitalize()
    month_word = next(w for w in words if w in _MONTHS)
    month = _MONTHS.index(month_word) + 1
    digits = [int(re.sub(r"\D", "", w)) for w in words if re.sub(r"\D", "", w)]
    year = today.year
    if digits:
        day = digits[0]
        if not 1 <= day <= calendar.monthrange(year, month)[1]:
            return None
        if (month, day) < (today.month, today.day):
            year += 1
        return date(year, month, day), None
    if month < today.month:
        year += 1
    return date(year, month, calendar.monthrange(year, month)[1]), None  # "in December": after it ends


def _question(what: str, weekday: str | None) -> str:
    words = what.split()
    if words[0].lower() in ("my", "our") and weekday and "'s" not in what:
        return f"How did {weekday}'s {' '.join(words[1:])} go?"
    owner = {"my": "your", "our": "your"}.get(words[0].lower(), words[0])
    return f"How did {owner} {' '.join(words[1:])} go?"


def find_plans(text: str, today: date) -> list[Plan]:
    """The plans in what the person said, each resolved to a day on or after `today`."""
    found: dict[date, Plan] = {}
    for pattern in _PLANS:
        for match in pattern.finditer(text):
            resolved = _resolve(match["when"], today)
            if resolved is None:
                continue
            due, weekday = resolved
            what = match.groupdict().get("what") or f"my {match['thing']}"
            exact = not any(m in match["when"].lower() for m in _MONTHS) or bool(
                re.search(r"\d", match["when"])
            )
            found.setdefault(due, Plan(" ".join(match[0].split()), due, _question(what, weekday), exact))
    return list(found.values())


def hush_request(text: str) -> str | None:
    """What the person asked her not to ask about ("that", "the wedding"), if they did."""
    match = _HUSH.search(text)
    return match["about"].strip() if match else None


# -- SQL (inside the store's reader or writer) ------------------------------------------------------


def set_due(conn: sqlite3.Connection, memory_id: int, due: date, follow_up: str) -> None:
    """Give a stored plan its day and its follow-up question."""
    conn.execute(
        "UPDATE memories SET due = ?, follow_up = ? WHERE id = ? AND kind = 'plan'",
        (due.isoformat(), follow_up, memory_id),
    )


def due_follow_ups(conn: sqlite3.Connection, user: str, today: date) -> list[tuple[int, str]]:
    """Plans whose day has passed, not yet followed up nor hushed, oldest first: (id, question)."""
    rows = conn.execute(
        "SELECT id, follow_up FROM memories WHERE user = ? AND kind = 'plan' AND due < ?"
        " AND followed_up IS NULL AND hushed = 0 AND follow_up IS NOT NULL ORDER BY due, id",
        (user, today.isoformat()),
    ).fetchall()
    return [(r["id"], r["follow_up"]) for r in rows]


def mark_followed_up(conn: sqlite3.Connection, memory_id: int, stamp: str) -> bool:
    """Record that she asked (so she asks once); False if it was already asked or is gone."""
    cur = conn.execute(
        "UPDATE memories SET followed_up = ? WHERE id = ? AND followed_up IS NULL", (stamp, memory_id)
    )
    return cur.rowcount > 0


def hush(conn: sqlite3.Connection, user: str, about: str) -> int:
    """Hush the plan meant by `about`: one whose words it names, else the one she asked about last, else
    the newest still ahead. Returns how many were hushed (0 or 1)."""
    words = [w for w in re.findall(r"[a-z']+", about.lower()) if w not in _VAGUE]
    rows = conn.execute(
        "SELECT id, text, followed_up FROM memories WHERE user = ? AND kind = 'plan' AND hushed = 0"
        " ORDER BY coalesce(followed_up, '') DESC, id DESC",
        (user,),
    ).fetchall()
    hits = [(sum(w in r["text"].lower() for w in words), -i, r) for i, r in enumerate(rows)]
    named = max(hits, key=lambda h: h[:2], default=None)
    pick = named[2] if named and named[0] else (rows[0] if rows and not words else None)
    if pick is None:
        return 0
    conn.execute("UPDATE memories SET hushed = 1 WHERE id = ?", (pick["id"],))
    return 1
