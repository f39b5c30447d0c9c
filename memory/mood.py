"""Her mood: a light state (valence and energy, each in [-1, 1]) with its cause, that fades with time.

Moved by rules over what the person says (news like "my cat is sick" or "I got the job"): a small model
cannot be trusted to judge this, and a mood must never come from thin air. Each change is a row with its
cause and the turn behind it; reading it fades it towards calm by its age, so nothing rewrites it.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime

HALF_LIFE_H = 12.0  # a mood halves every 12 hours: bad news colours the evening, not next week
CALM = 0.15  # below this (valence and energy alike) she is simply calm

_LOW = re.compile(
    r"\b(died|dead|passed away|funeral|lost my|laid off|fired|broke up|dumped|divorce|sick|ill|hospital|"
    r"cancer|failed|rejected|sad|depressed|lonely|worried|anxious|scared|terrible|awful|miserable|"
    r"crying|cried|grief|hurts?)\b",
    re.I,
)
_HIGH = re.compile(
    r"\b(got the job|passed|promoted|engaged|married|pregnant|won|great news|good news|excited|happy|"
    r"thrilled|so glad|wonderful|amazing|proud|celebrat\w*|in love)\b",
    re.I,
)
_NOT = re.compile(r"\b(not|never|no longer|isn't|wasn't|don't|didn't)\s+(?:\w+\s+)?$", re.I)


@dataclass(frozen=True)
class Mood:
    """How she feels now and why: valence (low..bright) and energy (quiet..lively), each in [-1, 1]."""

    valence: float
    energy: float
    cause: str
    since: str  # when it was set (ISO)

    @property
    def word(self) -> str:
        """The mood in a word or two, as the page and the prompt say it."""
        if abs(self.valence) < CALM and abs(self.energy) < CALM:
            return "calm"
        if self.valence <= -0.4:
            return "sad" if self.energy < 0 else "worried"
        if self.valence < 0:
            return "a little low"
        return "happy and lively" if self.energy >= 0.3 else "glad"


def _hits(pattern: re.Pattern[str], text: str) -> int:
    return sum(1 for m in pattern.finditer(text) if not _NOT.search(text[: m.start()]))


def react(text: str) -> tuple[float, float] | None:
    """How news in what the person said moves her (valence, energy); None when it says nothing."""
    low, high = _hits(_LOW, text), _hits(_HIGH, text)
    if low == high:
        return None
    return (-0.7, -0.3) if low > high else (0.7, 0.5)


def faded(mood: Mood, now: datetime) -> Mood:
    """The mood as it is `now`: its strength halves every HALF_LIFE_H hours."""
    hours = max(0.0, (now - datetime.fromisoformat(mood.since)).total_seconds() / 3600)
    keep = 0.5 ** (hours / HALF_LIFE_H)
    return Mood(round(mood.valence * keep, 3), round(mood.energy * keep, 3), mood.cause, mood.since)


# -- SQL (inside the store's reader or writer) ------------------------------------------------------


def record(
    conn: sqlite3.Connection, user: str, at: str, valence: float, energy: float, cause: str, turn: int
) -> None:
    """Set her mood for this person, with its cause and the turn behind it."""
    conn.execute(
        "INSERT INTO moods (user, at, valence, energy, cause, turn_id) VALUES (?, ?, ?, ?, ?, ?)",
        (user, at, valence, energy, cause, turn),
    )


def latest(conn: sqlite3.Connection, user: str) -> Mood | None:
    """Her last mood with this person, as it was set (fade it with `faded`)."""
    row = conn.execute(
        "SELECT valence, energy, cause, at FROM moods WHERE user = ? ORDER BY id DESC LIMIT 1", (user,)
    ).fetchone()
    return Mood(row["valence"], row["energy"], row["cause"], row["at"]) if row else None
