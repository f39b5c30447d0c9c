"""A good night when the person asked for one: the wish in their words, its time, and when it is due.

"Say good night to me at 23:00" (or "could you wish me goodnight around 10:30pm", "... tonight at 11")
is kept per person in `meta`: the time asked, and whether it is every night or only tonight. "Stop saying
good night" removes it; PUT /api/initiative sets or clears it too. The scheduler (app/scheduler.py) sends
it as an unprompted message, under the same rules as the others: never when the person turned her
messages off, never in quiet hours, and within the day's budget. A time asked inside quiet hours is
moved to QUIET_MARGIN before they begin (the latest she may speak first), and the API shows both.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Literal

from memory import meta

_WISH = "good-night:"  # meta key per user: "HH:MM daily" or "HH:MM once"
_SENT = "good-night-sent:"  # meta key per user: the date of the last night she said it for
USER_KEYS = (_WISH, _SENT)  # each followed by the user id (forgetting a person removes them)

# How long after its time a good night may still go out (a socket opened a little later still gets it).
WINDOW = timedelta(hours=1)
# A good night asked for inside quiet hours comes this long before they begin.
QUIET_MARGIN = timedelta(minutes=15)

_TIME = r"(?P<h>\d{1,2})(?:[:.h](?P<m>[0-5]\d))?\s*(?P<ampm>[ap]\.?\s?m\.?)?(?![\d:])|(?P<midnight>midnight)"
# A request, not a story ("I said good night to him at ten"): the verb opens the sentence or follows
# "please", "can you" and the like.
_ASK = re.compile(
    r"(?:^|[.!?;,]\s*|\b(?:please|can you|could you|would you|will you|i'?d like you to|i want you to|"
    r"remember to)\s+)(?:please\s+)?(?:say|wish me|send me|give me|bid me|tell me)\s+(?:a\s+)?"
    r"good[\s-]?night\b(?:\s+(?:to me|for me|every night|each night|tonight|please|too))*"
    r"\s+(?:at|around|about|by)\s+(?:" + _TIME + ")",
    re.IGNORECASE,
)
_NIGHT = r"(?:a\s+)?good[\s-]?nights?\b"
# Only about her good nights to them ("don't forget to say good night to grandma" is not one).
_STOP = re.compile(
    rf"\b(?:stop|quit)\s+(?:saying|wishing me|sending me|telling me|the)\s+{_NIGHT}|\bno more {_NIGHT}"
    rf"|\b(?:don'?t|do not|never)\s+(?:wish me|send me|tell me)\s+{_NIGHT}"
    rf"|\b(?:don'?t|do not|never)\s+say\s+{_NIGHT}\s*(?:to me|any ?more)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Wish:
    """A good night asked for: at what time, every night or only the next one."""

    at: time
    daily: bool = True

    def stored(self) -> str:
        """As kept in `meta`."""
        return f"{self.at:%H:%M} {'daily' if self.daily else 'once'}"

    @classmethod
    def parse(cls, value: str) -> Wish:
        """From what `stored` wrote."""
        hhmm, _, how = value.partition(" ")
        return cls(time.fromisoformat(hhmm), how != "once")


def heard(text: str) -> Wish | Literal[False] | None:
    """What the person asked in `text`: a Wish, False to stop the good nights, None when neither."""
    if (match := _ASK.search(text)) is not None:
        at = _clock_time(match)
        if at is not None:
            return Wish(at, daily="tonight" not in text.lower())
    if _STOP.search(text):
        return False
    return None


def _clock_time(match: re.Match[str]) -> time | None:
    """The time in the match; a bare hour means the evening or the small hours ("at 11" is 23:00)."""
    if match["midnight"]:
        return time(0, 0)
    hour, minute, ampm = int(match["h"]), int(match["m"] or 0), (match["ampm"] or "").lower()
    if hour > 23 or (ampm and not 1 <= hour <= 12):
        return None
    if ampm.startswith("p") and hour < 12:
        hour += 12
    elif ampm.startswith("a") and hour == 12:
        hour = 0
    elif not ampm and 5 <= hour <= 11:  # nobody asks for a good night at five in the morning
        hour += 12
    elif not ampm and hour == 12:
        hour = 0
    return time(hour, minute)


def effective(at: time, quiet: tuple[int, int]) -> time:
    """When a good night asked for at `at` is said: as asked, or QUIET_MARGIN before quiet hours."""
    start, end = quiet
    h = at.hour
    inside = start <= h < end if start < end else h >= start or h < end
    if not inside or start == end:
        return at
    return (datetime(2000, 1, 2, start) - QUIET_MARGIN).time()


def due_night(wish: Wish, quiet: tuple[int, int], now: datetime, sent_for: str | None) -> str | None:
    """The night (an ISO date) whose good night is due at `now`, or None; each night's is said once."""
    said_at = effective(wish.at, quiet)
    moment = datetime.combine(now.date(), said_at, tzinfo=now.tzinfo)
    if moment > now:
        moment -= timedelta(days=1)
    night = moment.date().isoformat()
    return night if now - moment < WINDOW and sent_for != night else None


# -- SQL (inside the store's reader or writer) ------------------------------------------------------


def wish(conn: sqlite3.Connection, user: str) -> Wish | None:
    """The good night this person asked for, if any."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (_WISH + user,)).fetchone()
    return Wish.parse(row["value"]) if row else None


def set_wish(conn: sqlite3.Connection, user: str, wanted: Wish | None) -> None:
    """Keep the good night asked for (None: no more good nights)."""
    if wanted is None:
        conn.execute("DELETE FROM meta WHERE key = ?", (_WISH + user,))
    else:
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (_WISH + user, wanted.stored())
        )


def sent_for(conn: sqlite3.Connection, user: str) -> str | None:
    """The night she last said good night for."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (_SENT + user,)).fetchone()
    return row["value"] if row else None


def mark_said(conn: sqlite3.Connection, user: str, night: str) -> bool:
    """Record the good night of `night` as said (once only: False if it already was); a wish for
    tonight only is then fulfilled."""
    if sent_for(conn, user) == night or not meta.swap(conn, _SENT + user, night):
        return False  # said already, or another server sharing the database just claimed it
    asked = wish(conn, user)
    if asked is not None and not asked.daily:
        set_wish(conn, user, None)
    return True


def plan_tomorrow(conn: sqlite3.Connection, user: str, tomorrow: str) -> str | None:
    """What the person said of a plan due tomorrow (not hushed), for her good luck."""
    row = conn.execute(
        "SELECT text FROM memories WHERE user = ? AND kind = 'plan' AND due = ? AND hushed = 0 "
        "ORDER BY id DESC LIMIT 1",
        (user, tomorrow),
    ).fetchone()
    if row is None:
        return None
    said = re.sub(r"^\[[^\]]*\]\s*user:\s*", "", row["text"])  # "[day] user: ... (Thursday 3 December)"
    return re.sub(r"\s*\([^)]*\)\s*$", "", said)
