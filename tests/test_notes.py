"""Her notes as the model reads them: in her voice, addressed to her person, with dates people say."""

from __future__ import annotations

from persona.notes import render_note, second_person_fact, swap_person, when


def test_what_the_person_said_is_turned_around() -> None:
    assert swap_person("my dog is called Biscuit") == "your dog is called Biscuit"
    assert swap_person("I am allergic to peanuts") == "You are allergic to peanuts"
    assert swap_person("I'm a nurse and I love my job") == "You're a nurse and you love your job"
    assert swap_person("I told you about my sister") == "You told me about your sister"
    assert swap_person("you are my best friend") == "I am your best friend"
    assert swap_person("I was tired, but I love you") == "You were tired, but you love me"


def test_facts_read_in_the_second_person() -> None:
    assert second_person_fact("The user's sister is called Anna.") == "Your sister is called Anna."
    assert second_person_fact("The user lives in Leeds.") == "You live in Leeds."
    assert second_person_fact("The user studies design.") == "You study design."
    assert second_person_fact("The user is a nurse.") == "You are a nurse."


def test_dates_as_people_say_them() -> None:
    assert when("2026-11-27", "2026-11-28") == "yesterday (27 November 2026)"
    assert when("2026-11-28", "2026-11-28").startswith("earlier today")
    assert when("2026-11-24", "2026-11-28") == "on Tuesday (24 November 2026, 4 days ago)"
    assert when("2026-10-01", "2026-11-28") == "8 weeks ago (1 October 2026)"


def test_a_note_keeps_who_said_it() -> None:
    today = "2026-11-28"
    assert (
        render_note("[2026-11-27] user: my dog is called Biscuit", "turn", today)
        == "Yesterday (27 November 2026) you told me: your dog is called Biscuit"
    )
    assert render_note("[2026-11-27] The user's sister is Anna.", "fact", today).endswith(
        "you told me: Your sister is Anna."
    )
    assert "Caroline said: I went" in render_note("[2023-05-08] Caroline: I went", "turn", "2023-05-20")
    assert render_note("[film review of Her] Theodore writes letters", "seed", today).startswith("[film")
    assert "2026-11-27" not in render_note("[2026-11-27] user: hi", "turn", today)
