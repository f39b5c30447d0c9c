"""Word error rate: (substitutions + deletions + insertions) / words said, after a light normalisation.

Lowercase, punctuation dropped (an apostrophe inside a word stays: "I'm" is one word), hyphens split words.
This is the usual WER of speech recognition papers, without their number normalisation: sentences used
with it avoid numbers, since Whisper writes digits ("3") where a person reads a word ("three").
"""

from __future__ import annotations

import re


def words(text: str) -> list[str]:
    """The normalised words of a text."""
    text = text.lower().replace("’", "'").replace("-", " ")
    return [w.strip("'") for w in re.sub(r"[^\w\s']", " ", text).split() if w.strip("'")]


def edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    """The fewest word substitutions, deletions and insertions turning one into the other."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        current = [i]
        for j, hyp in enumerate(hypothesis, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref != hyp)))
        previous = current
    return previous[-1]


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Errors per reference word (0.0 is perfect; it can exceed 1.0 when words are invented)."""
    ref = words(reference)
    if not ref:
        raise ValueError("the reference has no words")
    return edit_distance(ref, words(hypothesis)) / len(ref)
