"""Time in a question, resolved against the moment it is asked (memory/when.py is a pure function)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from memory.when import window

ASKED = datetime(2023, 5, 30, 23, 40, tzinfo=UTC)  # a Tuesday


@pytest.mark.parametrize(
    ("question", "start", "end"),
    [
        ("What did I do last weekend?", date(2023, 5, 26), date(2023, 5, 28)),
        ("What did I buy in March?", date(2023, 3, 1), date(2023, 3, 31)),
        ("What did I buy in September?", date(2022, 9, 1), date(2022, 9, 30)),  # the latest September
        ("Who did I meet two weeks ago?", date(2023, 5, 13), date(2023, 5, 19)),
        ("What did I cook yesterday?", date(2023, 5, 29), date(2023, 5, 29)),
        ("Where was I last Tuesday?", date(2023, 5, 22), date(2023, 5, 24)),
        ("What have I read in the past week?", date(2023, 5, 23), date(2023, 5, 30)),
        ("What happened last month?", date(2023, 4, 1), date(2023, 4, 30)),
        ("Where did I travel in 2022?", date(2022, 1, 1), date(2022, 12, 31)),
    ],
)
def test_time_expressions_resolve_against_the_question_date(question: str, start: date, end: date) -> None:
    found = window(question, ASKED)
    assert found is not None and (found.start, found.end) == (start, end)


@pytest.mark.parametrize("question", ["What is my dog called?", "May I ask you something?", "I march on"])
def test_a_question_without_a_time_names_no_days(question: str) -> None:
    assert window(question, ASKED) is None


def test_the_same_words_mean_other_days_when_asked_later() -> None:
    later = window("What did I do last weekend?", datetime(2023, 6, 14, 9, 0, tzinfo=UTC))
    assert later is not None and later.start == date(2023, 6, 9)
    assert later.holds("2023-06-10T15:00:00+00:00") and not later.holds("2023-05-27T15:00:00+00:00")
