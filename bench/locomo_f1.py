"""LoCoMo's answer score: token F1 after the paper's normalisation, with Porter stemming.

Follows task_eval/evaluation.py of the LoCoMo repository (snap-research/locomo), so numbers compare with
the paper's: commas dropped, lowercase, punctuation removed, the words a/an/the/and removed, whitespace
folded; each word Porter-stemmed (NLTK's stemmer, as there); F1 over the multiset of stems. Category 1
(multi-hop) answers are lists: prediction and gold are split on commas, and each gold part scores the best
F1 of any predicted part, averaged over the gold parts. Category 3 (open-domain) golds keep only what comes
before the first ';' (the rest is the annotator's reasoning). Category 5 is not scored here.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from functools import lru_cache

from nltk.stem import PorterStemmer

_STEMMER = PorterStemmer()  # NLTK's default mode (NLTK_EXTENSIONS), as LoCoMo's evaluation uses
_PUNCTUATION = frozenset(string.punctuation)
_DROPPED_WORDS = re.compile(r"\b(a|an|the|and)\b")


def normalize_answer(text: str) -> str:
    """The paper's normalisation, in its order: commas out, lowercase, punctuation out, articles (and
    'and') out, whitespace folded."""
    text = text.replace(",", "").lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    return " ".join(_DROPPED_WORDS.sub(" ", text).split())


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return _STEMMER.stem(word)


def stems(text: str) -> list[str]:
    """The normalised words of `text`, each Porter-stemmed."""
    return [_stem(w) for w in normalize_answer(text).split()]


def f1_score(prediction: str, gold: str) -> float:
    """Token F1 between two answers (0 when they share no stem, an empty one included)."""
    pred, true = stems(prediction), stems(gold)
    same = sum((Counter(pred) & Counter(true)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(true)
    return 2 * precision * recall / (precision + recall)


def multi_answer_f1(prediction: str, gold: str) -> float:
    """For list answers: each comma-separated gold part takes the best F1 of any predicted part; mean."""
    predictions = [p.strip() for p in prediction.split(",")]
    golds = [g.strip() for g in gold.split(",")]
    return sum(max(f1_score(p, g) for p in predictions) for g in golds) / len(golds)


def gold_answer(category: int, answer: object) -> str:
    """The gold answer as the evaluation compares it (some are numbers; category 3 drops its reason)."""
    text = str(answer)
    return text.split(";")[0].strip() if category == 3 else text


def score(category: int, prediction: str, answer: object) -> float:
    """LoCoMo's F1 for a question of category 1-4."""
    gold = gold_answer(category, answer)
    if category == 1:
        return multi_answer_f1(prediction, gold)
    if category in (2, 3, 4):
        return f1_score(prediction, gold)
    raise ValueError(f"category {category}: only categories 1-4 are scored with F1")
