"""LoCoMo's answer F1 (bench/locomo_f1.py) on hand-made answers, following the paper's evaluation rules."""

from __future__ import annotations

import pytest

from bench.locomo_f1 import f1_score, gold_answer, multi_answer_f1, normalize_answer, score, stems


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("The Sunrise, and a Lake!", "sunrise lake"),  # articles and 'and' go, commas and '!' too
        ("  Don't   STOP  ", "dont stop"),  # punctuation inside words goes, whitespace folds
        ("Andrew and Anna at the theatre", "andrew anna at theatre"),  # whole words only
        ("7 May, 2023", "7 may 2023"),
        ("a-n the", ""),  # punctuation goes first, so "a-n" becomes the article "an" and is removed
    ],
)
def test_normalisation(raw: str, normalised: str) -> None:
    assert normalize_answer(raw) == normalised


def test_porter_stemming_matches_word_forms() -> None:
    assert stems("paintings hiking camped") == stems("painting hike camping") == ["paint", "hike", "camp"]
    assert f1_score("She paints", "painting") == pytest.approx(2 * 0.5 * 1 / 1.5)


def test_token_f1() -> None:
    assert f1_score("7 May, 2023", "7 May 2023") == 1.0
    # pred stems: she went camp at beach (5), gold: camp (1): P = 1/5, R = 1
    assert f1_score("She went camping at the beach", "camping") == pytest.approx(1 / 3)
    # A multiset: a repeated word counts once against a gold that has it once.
    assert f1_score("camping camping", "camping") == pytest.approx(2 / 3)
    assert f1_score("Melanie and Caroline", "Caroline, Melanie") == 1.0
    assert f1_score("", "camping") == 0.0
    assert f1_score("the a an", "camping") == 0.0  # nothing left after normalisation
    assert f1_score("swimming", "camping") == 0.0


def test_multi_answer_f1_scores_each_gold_part() -> None:
    gold = "pottery, camping, painting, swimming"
    # Each gold part takes its best predicted part: pottery 1, camping 0, painting 1, swimming 0.
    assert multi_answer_f1("painting, pottery", gold) == 0.5
    # Plain token F1 would give 2/3 here (P = 1, R = 1/2): category 1 must use the multi-answer form.
    assert f1_score("painting, pottery", gold) == pytest.approx(2 / 3)
    assert score(1, "painting, pottery", gold) == 0.5
    assert score(4, "painting, pottery", gold) == pytest.approx(2 / 3)
    # Without commas the prediction is one part, matched against every gold part.
    assert multi_answer_f1("pottery and painting", "pottery, painting") == pytest.approx(2 / 3)


def test_category_3_gold_is_the_part_before_the_semicolon() -> None:
    answer = "Likely no; though she likes reading, she wants to be a counselor"
    assert gold_answer(3, answer) == "Likely no"
    assert score(3, "likely no", answer) == 1.0
    assert score(4, "likely no", answer) < 0.5  # other categories keep the whole answer
    assert gold_answer(2, 2022) == "2022"
    assert score(2, "In 2022.", 2022) == pytest.approx(2 * 0.5 / 1.5)  # "in 2022" vs "2022"


def test_adversarial_questions_are_not_scored() -> None:
    with pytest.raises(ValueError, match="category 5"):
        score(5, "not mentioned", "")
