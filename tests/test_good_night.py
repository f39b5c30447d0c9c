"""A good night when the person asks for one: heard in words, and its time under her rules.

The life of a week of good nights (budget, quiet hours, stopping, "only tonight") is the scripted
conversation tests/conversations/life_good_night.yaml, played on the script runner's virtual clock; the
API and the off switch are in tests/test_initiative.py."""

from __future__ import annotations

from datetime import datetime, time

import httpx
import pytest

from app.backends.scripted import EchoBackend
from memory.goodnight import Wish, due_night, effective, heard

QUIET = (22, 8)


@pytest.mark.parametrize(
    ("said", "wanted"),
    [
        ("Say good night to me at 23:00", Wish(time(23, 0))),
        ("could you wish me goodnight around 10:30pm?", Wish(time(22, 30))),
        ("Please send me a good night at 9 every evening.", Wish(time(21, 0))),
        ("I'm tired. Tell me good-night at 1.15 am", Wish(time(1, 15))),
        ("Say good night to me tonight at 11", Wish(time(23, 0), daily=False)),
        ("Wish me good night at midnight", Wish(time(0, 0))),
        ("Stop saying good night, please", False),
        ("no more good nights", False),
        ("I said good night to my mum at 10", None),  # a story, not a request
        ("Don't forget to say good night to grandma at 9", None),  # not to her
        ("Can you say good night to Emma at 9?", None),  # to someone else
        ("Don't say good night to me anymore.", False),
        ("Please don't wish me good night", False),
        ("Good night!", None),
        ("Say good night at 27:00", None),
    ],
)
def test_a_good_night_is_heard_in_the_words_people_use(said: str, wanted: Wish | bool | None) -> None:
    assert heard(said) == wanted


def test_its_time_keeps_out_of_quiet_hours_and_it_is_due_once_a_night() -> None:
    assert effective(time(21, 30), QUIET) == time(21, 30)
    assert effective(time(23, 30), QUIET) == time(21, 45)  # a quarter of an hour before quiet hours
    assert effective(time(1, 0), QUIET) == time(21, 45)
    wish = Wish(time(21, 30))
    assert due_night(wish, QUIET, datetime(2026, 12, 1, 21, 29), None) is None
    assert due_night(wish, QUIET, datetime(2026, 12, 1, 21, 40), None) == "2026-12-01"
    assert due_night(wish, QUIET, datetime(2026, 12, 1, 21, 40), "2026-12-01") is None  # said already
    assert due_night(wish, QUIET, datetime(2026, 12, 1, 22, 31), None) is None  # an hour late: let it go


def notes(echo: EchoBackend) -> str:
    """Her notes in the last prompt (the system messages; not what the person said)."""
    return "\n".join(m["content"] for m in echo.prompts[-1] if m["role"] == "system")


async def test_her_notes_say_what_is_arranged_when_asked(make_server) -> None:  # type: ignore[no-untyped-def]
    echo = EchoBackend()
    server = await make_server(echo)
    chat = await server.chat("asking")
    await chat.turn("Could you say good night to me at 23:00?")
    assert (
        "it is arranged, you will say it at 21:45, just before your quiet hours (they asked for 23:00)"
        in notes(echo)
    )
    await chat.turn("How was your day?")
    assert "it is arranged" not in notes(echo)  # only when asked
    async with httpx.AsyncClient(base_url=server.url) as http:
        assert (await http.get("/api/initiative")).json()["good_night"] == "23:00"  # and it is kept
        await http.put("/api/initiative", json={"enabled": False})
    await chat.turn("Say good night to me tonight at 9pm.")
    assert "you cannot message them first (it is switched off)" in notes(echo)
    await chat.turn("Stop saying good night.")
    assert "stop saying good night: it is done" in notes(echo)
