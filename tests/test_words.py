"""Word coverage, what the honest floor reads: the share of a question's words that a memory holds."""

from __future__ import annotations

import pytest

from memory.words import coverage, terms

TEXTS = [
    "I'm living in Lisbon now; my sister moved here in March and we've been cycling every weekend.",
    "Dr. Patel, the ENT specialist, diagnosed me with chronic sinusitis. The doctors' notes say so.",
    "Relived it all: the deliveries, a redelivery, live music, and my_cat's lives.",
    "",
    "Ünïcode wörds: café, naïve, Zoë's dogs and a dog-walker.",
]
QUESTIONS = [
    "Where do I live?",
    "How many doctors did I visit for my sinus problem?",
    "What did the live music sound like?",
    "Who walks Zoë's dog at the café?",
    "sister cycling weekend lisbon march",
]


@pytest.mark.parametrize("question", QUESTIONS)
@pytest.mark.parametrize("text", TEXTS)
def test_coverage_is_the_share_of_the_question_terms_the_text_holds(question: str, text: str) -> None:
    asked = terms(question)
    assert coverage(asked, text) == pytest.approx(len(asked & terms(text)) / len(asked))


def test_a_word_inside_another_word_does_not_count() -> None:
    # "live" must not be found inside "relived" or "delivery"; "lives" stems to it.
    assert coverage(terms("live"), "relived the delivery") == 0.0
    assert coverage(terms("live"), "nine lives") == 1.0
    assert coverage(terms("where do I live, and my sister?"), "my sister") == 0.5
    assert coverage(set(), "anything") == 0.0
