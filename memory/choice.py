"""Step 4 of recall (memory/recall.py): which of the ranked memories are told."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Protocol

import numpy as np

from memory.models import SHARED


class Limits(Protocol):
    """The RecallConfig fields this step reads."""

    @property
    def duplicate_cosine(self) -> float: ...
    @property
    def max_shared(self) -> int: ...
    @property
    def max_per_day(self) -> int: ...


def choose(ranked: Mapping[int, float], rows: Mapping[int, sqlite3.Row], k: int, limits: Limits) -> list[int]:
    """The best k, skipping near-duplicates, film passages past `max_shared` and days past `max_per_day`."""
    chosen: list[int] = []
    vectors: dict[int, np.ndarray] = {}
    shared_count = 0
    per_day: dict[str, int] = {}
    for i in sorted(ranked, key=ranked.__getitem__, reverse=True):
        if len(chosen) == k or ranked[i] <= 0:
            break
        vectors[i] = np.frombuffer(rows[i]["embedding"], dtype=np.float32)
        if any(float(vectors[i] @ vectors[j]) >= limits.duplicate_cosine for j in chosen):
            continue
        day = rows[i]["created_at"][:10]
        if limits.max_per_day and per_day.get(day, 0) >= limits.max_per_day and rows[i]["user"] != SHARED:
            continue
        per_day[day] = per_day.get(day, 0) + 1
        if rows[i]["user"] == SHARED:
            if shared_count >= limits.max_shared:
                continue
            shared_count += 1
        chosen.append(i)
    return chosen
