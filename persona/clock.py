"""The one notion of "now" every layer shares: a Clock with now(); the real one and one tests can set.

A leaf of the shared vocabulary (like persona/messages.py): memory stamps rows with it, the app reads the
time of day from it, and a scripted conversation plays three weeks of a life in seconds by moving it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Protocol

from persona.errors import SamanthaError


class ClockError(SamanthaError, ValueError):
    """A time or a duration could not be read; the message shows the accepted forms."""


class Clock(Protocol):
    """Where the current time comes from: always timezone-aware, local to the server."""

    def now(self) -> datetime: ...


class SystemClock:
    """The machine's clock, in its local timezone."""

    def now(self) -> datetime:
        """The current local time, timezone-aware."""
        return datetime.now().astimezone()


class SetClock:
    """A clock that stands still until moved: scripted conversations, tests and benchmarks."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = aware(start) if start is not None else datetime.now().astimezone()

    def now(self) -> datetime:
        """The time it was set to."""
        return self._now

    def set(self, when: datetime) -> None:
        """Jump to `when` (naive times are read as local time)."""
        self._now = aware(when)

    def advance(self, by: timedelta) -> None:
        """Move forward by `by`."""
        self._now = self._now + by


def aware(when: datetime) -> datetime:
    """`when` with a timezone: a naive time is read as the server's local time."""
    return when if when.tzinfo is not None else when.astimezone()


def instant(stamp: str) -> datetime:
    """A stored time as an aware datetime (one without an offset is UTC, as SQLite's julianday reads it)."""
    when = datetime.fromisoformat(stamp)
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def iso(when: datetime) -> str:
    """A time as the database stores it: ISO 8601 with offset, to the second."""
    return aware(when).isoformat(timespec="seconds")


_UNITS = {"minute": 60, "hour": 3600, "day": 86400, "week": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(minute|hour|day|week)s?\s*$", re.I)


def parse_duration(text: str) -> timedelta:
    """ "3 days" -> timedelta(days=3); minutes, hours, days and weeks, singular or plural."""
    match = _DURATION.match(text)
    if not match:
        raise ClockError(
            f"{text!r} is not a duration; write e.g. '3 days', '2 hours', '1 week', '30 minutes'"
        )
    return timedelta(seconds=float(match[1]) * _UNITS[match[2].lower()])


def parse_time(text: str) -> datetime:
    """ "2026-12-01T09:00" -> that local time (an offset in the text is kept)."""
    try:
        return aware(datetime.fromisoformat(text.strip()))
    except ValueError as exc:
        raise ClockError(f"{text!r} is not a time; write e.g. '2026-12-01T09:00'") from exc
