"""Her sense of time and of your plans: the clock, the rules, and what reaches the prompt and the page."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from app.backends.scripted import EchoBackend
from app.script import ScriptError, load_script
from memory.plans import find_plans, hush_request
from persona.clock import ClockError, SetClock, parse_duration, parse_time
from persona.timesense import LastTalk, how_long, part_of_day, time_note

SUNDAY = date(2026, 11, 29)


def test_durations_and_times_read_as_people_write_them() -> None:
    assert parse_duration("3 days") == timedelta(days=3)
    assert parse_duration("1 week") == timedelta(weeks=1)
    assert parse_duration("90 minutes") == timedelta(minutes=90)
    assert parse_time("2026-12-01T09:00").hour == 9
    with pytest.raises(ClockError, match="3 days"):
        parse_duration("three days")
    with pytest.raises(ClockError, match="2026-12-01T09:00"):
        parse_time("next tuesday")


def test_a_set_clock_stands_still_until_moved() -> None:
    clock = SetClock(datetime(2026, 11, 29, 10, 0))
    assert clock.now().tzinfo is not None
    clock.advance(timedelta(days=3))
    assert clock.now().date() == date(2026, 12, 2)
    clock.set(datetime(2027, 1, 1, 0, 0))
    assert clock.now().year == 2027


def test_a_script_with_a_bad_time_is_refused_naming_the_step(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nturns:\n  - advance: 'a while'\n  - user: hi\n")
    with pytest.raises(ScriptError, match=r"turns\.0\.advance.*'3 days'"):
        load_script(bad)
    greeting = tmp_path / "greeting.yaml"
    greeting.write_text("name: x\nturns:\n  - user: hi\n    expect: {greeting: hello}\n")
    with pytest.raises(ScriptError, match="new_conversation"):
        load_script(greeting)


@pytest.mark.parametrize(
    ("said", "due", "question"),
    [
        (
            "My interview is on Thursday, I'm so nervous.",
            date(2026, 12, 3),
            "How did Thursday's interview go?",
        ),
        ("Jonas's wedding in December will be huge", date(2026, 12, 31), "How did Jonas's wedding go?"),
        ("I have a dentist appointment tomorrow", date(2026, 11, 30), "How did your dentist appointment go?"),
        ("my exam is on the 3rd of March", date(2027, 3, 3), "How did your exam go?"),
    ],
)
def test_plans_are_found_and_dated_against_the_day_they_were_said(
    said: str, due: date, question: str
) -> None:
    [plan] = find_plans(said, SUNDAY)
    assert (plan.due, plan.follow_up) == (due, question)


def test_talk_without_a_plan_makes_none() -> None:
    assert find_plans("I like Thursdays and December is cold.", SUNDAY) == []
    assert find_plans("my exam is on the 31st of February", SUNDAY) == []
    assert hush_request("please don't ask me about that again") == "that again"
    assert hush_request("ask me about my day") is None


def test_the_time_note_says_the_day_the_part_of_day_and_the_silence() -> None:
    now = datetime(2026, 12, 14, 20, 30).astimezone()
    assert part_of_day(now) == "evening"
    last = LastTalk(now - timedelta(days=12), "I'm nervous about the move. It's a lot.")
    note = time_note(now, last)
    assert note.startswith("Today is Monday 14 December 2026; it is evening (20:30).")
    assert (
        "It's been almost two weeks since we last talked; last time you told me you're nervous about the move"
        in note
    )
    assert (
        how_long(3600) is None
        and time_note(now, LastTalk(now - timedelta(hours=1))) == note.split(" It's")[0]
    )


async def test_the_prompt_carries_the_time_note_after_the_persona(make_server) -> None:  # type: ignore[no-untyped-def]
    echo = EchoBackend()
    server = await make_server(echo)
    chat = await server.chat("one")
    await chat.turn("I'm nervous about the move next week.")
    await chat.ws.close()
    chat = await server.chat("two")
    await chat.turn("Hello again")
    prompt = echo.prompts[-1]
    assert prompt[0]["content"].startswith("You are Samantha") or "Samantha" in prompt[0]["content"]
    notes = prompt[-2]
    assert notes["role"] == "system" and notes["content"].startswith("Today is ")
    assert "; it is " in notes["content"].splitlines()[0]
    assert "It's been" not in notes["content"]  # the same minute: no silence to speak of
