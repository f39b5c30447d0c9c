"""How a recalled memory is scored: meaning, shared words, context, recency and importance.

Contract: every part and the total lie in [0, 1], and higher means "more worth recalling".
"""

from __future__ import annotations

import math
from datetime import datetime

from memory.models import Score

# Weights of the parts; the total is their weighted sum divided by the sum of the weights. Meaning and
# shared words carry recall; a turn said just before or after a strong match lifts it (a fragment of the
# same exchange); recency and importance only break near-ties. Tuned on LoCoMo with general features only
# (bench/locomo_experiments.py; bench/RESULTS.md has the table of what each change did).
W_DENSE = 1.0  # cosine between the question and the memory (clipped at 0)
W_LEXICAL = 0.8  # BM25 of the memory in its context, relative to the question's best match
W_RECENCY = 0.1
W_IMPORTANCE = 0.1
W_CONTEXT = 1.0  # the best direct score of a neighbouring turn, as a fraction of the highest possible
DIRECT = W_DENSE + W_LEXICAL + W_RECENCY + W_IMPORTANCE  # the most a memory can score on its own
TOTAL = DIRECT + W_CONTEXT
RECENCY_HALF_LIFE_DAYS = 30.0

# Honest not-knowing. A memory is a candidate only if its relevance (0.75 x cosine + 0.25 x the share of
# the question's content words found in it and its neighbours) reaches the floor; below it, better to say
# "I don't remember" than to quote noise. Neighbours of a candidate may come along as its context.
FLOOR_DENSE = 0.75
FLOOR_LEXICAL = 0.25
MIN_RELEVANCE = 0.28
# Film passages are long and share vague words with everything; they must be clearly on topic.
MIN_RELEVANCE_SHARED = 0.40


def retention(created_at: str, last_recalled: str | None, recall_count: int, now: datetime) -> float:
    """How fresh a memory is, in [0, 1]: a forgetting curve in the spirit of MemoryBank.

    1 when made now; it halves every RECENCY_HALF_LIFE_DAYS x (1 + times recalled), so what keeps coming
    up in conversation fades more slowly. Being recalled slows the fading but does not make a memory new
    again: anchoring on the last recall let whatever was recalled once crowd out the rest (LoCoMo recall@10
    38% against 50% without strengthening, bench/RESULTS.md).
    """
    del last_recalled  # kept in the database and the signature for the record; see above
    try:
        anchor = datetime.fromisoformat(created_at)
        age_days = max(0.0, (now - anchor).total_seconds() / 86400)
    except (TypeError, ValueError):
        return 0.0
    return math.pow(0.5, age_days / (RECENCY_HALF_LIFE_DAYS * (1 + max(0, recall_count))))


def relevance(dense: float, coverage: float) -> float:
    """What the abstention floor looks at: meaning, and the share of the question's words present."""
    return FLOOR_DENSE * max(0.0, dense) + FLOOR_LEXICAL * coverage


def direct(*, dense: float, lexical: float, recency_value: float, importance: float) -> float:
    """A memory's score on its own, in [0, DIRECT] (before its neighbours are counted)."""
    return (
        W_DENSE * max(0.0, min(1.0, dense))
        + W_LEXICAL * lexical
        + W_RECENCY * recency_value
        + W_IMPORTANCE * importance
    )


def score(*, dense: float, lexical: float, recency_value: float, importance: float, context: float) -> Score:
    """Combine the parts into the total that orders recall; `context` is a neighbour's direct / DIRECT."""
    dense = max(0.0, min(1.0, dense))
    own = direct(dense=dense, lexical=lexical, recency_value=recency_value, importance=importance)
    total = (own + W_CONTEXT * context) / TOTAL
    return Score(
        total=round(total, 4),
        dense=round(dense, 4),
        lexical=round(lexical, 4),
        recency=round(recency_value, 4),
        importance=round(importance, 4),
        context=round(context, 4),
    )
