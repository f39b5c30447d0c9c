"""How a recalled memory is scored: relevance (dense + lexical), recency and importance.

Contract: every part and the total lie in [0, 1], and higher means "more worth recalling".
"""

from __future__ import annotations

import math
from datetime import datetime

from memory.models import Score

# Weights of the total. Relevance dominates: recency and importance only break near-ties.
W_RELEVANCE = 0.80
W_RECENCY = 0.10
W_IMPORTANCE = 0.10
# Inside relevance, the dense cosine carries meaning; the share of query words found rescues exact names.
W_DENSE = 0.75
W_LEXICAL = 0.25
RECENCY_HALF_LIFE_DAYS = 30.0
# Below this relevance a memory is noise: better to say "I don't remember" than to quote it.
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


def score(*, dense: float, lexical: float, recency_value: float, importance: float) -> Score:
    """Combine the parts into the total that orders recall."""
    dense = max(0.0, min(1.0, dense))
    relevance = W_DENSE * dense + W_LEXICAL * lexical
    total = W_RELEVANCE * relevance + W_RECENCY * recency_value + W_IMPORTANCE * importance
    return Score(
        total=round(total, 4),
        dense=round(dense, 4),
        lexical=round(lexical, 4),
        recency=round(recency_value, 4),
        importance=round(importance, 4),
    )


def relevance(s: Score) -> float:
    """The relevance part alone (what the abstention threshold looks at)."""
    return W_DENSE * s.dense + W_LEXICAL * s.lexical
