"""LongMemEval (Wu et al., ICLR 2025, MIT): its `_s` questions, each with its own dated chat history.

The data stays in ../shared/bench (never copied here). Each question's history is a list of sessions of
user/assistant turns; `answer_session_ids` label the evidence sessions and `has_answer` the evidence turns.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from memory.models import Turn
from memory.turns import turn_memories
from memory.write import NewMemory

DATA_PATH = Path(__file__).resolve().parents[2] / "shared" / "bench" / "longmemeval_s_cleaned_498.json.gz"
TYPES = (
    "single-session-user",
    "single-session-assistant",
    "single-session-preference",
    "multi-session",
    "knowledge-update",
    "temporal-reasoning",
)


@dataclass(frozen=True)
class LmeTurn:
    """One turn of a history: where it was said, by whom, when, and whether it holds the answer."""

    session: str
    index: int  # its place in the whole history
    role: str
    text: str
    created_at: str
    has_answer: bool


@dataclass(frozen=True)
class LmeQuestion:
    """A question with its history, asked at `asked_at`."""

    qid: str
    qtype: str
    question: str
    asked_at: datetime
    answer: str
    answer_sessions: frozenset[str]
    turns: tuple[LmeTurn, ...]

    @property
    def abstention(self) -> bool:
        """A question about something never said (skipped by the retrieval metric, as in the paper)."""
        return self.qid.endswith("_abs")

    @property
    def dev(self) -> bool:
        """In the development third (tuning happens on these only): a fixed hash of the question id."""
        return int(hashlib.sha256(self.qid.encode()).hexdigest(), 16) % 3 == 0


def parse_date(text: str) -> datetime:
    """'2023/05/20 (Sat) 02:21' as an aware datetime (the data gives no zone: UTC)."""
    day, _, clock = text.partition(" (")
    return datetime.strptime(f"{day} {clock.split(') ')[1]}", "%Y/%m/%d %H:%M").replace(tzinfo=UTC)


def _question(raw: dict[str, Any]) -> LmeQuestion:
    turns: list[LmeTurn] = []
    for sid, date, session in zip(
        raw["haystack_session_ids"], raw["haystack_dates"], raw["haystack_sessions"], strict=True
    ):
        start = parse_date(date)
        for n, t in enumerate(session):
            # A minute per turn keeps a sitting's order (and its turns within the hour of each other).
            when = (start + timedelta(minutes=n)).isoformat(timespec="seconds")
            turns.append(
                LmeTurn(sid, len(turns), t["role"], t["content"] or "", when, bool(t.get("has_answer")))
            )
    return LmeQuestion(
        raw["question_id"],
        raw["question_type"],
        raw["question"],
        parse_date(raw["question_date"]),
        str(raw["answer"]),
        frozenset(raw["answer_session_ids"]),
        tuple(turns),
    )


def load(path: Path = DATA_PATH) -> list[LmeQuestion]:
    """Every question of the file, in file order."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [_question(q) for q in json.load(f)]


def stratified(questions: Sequence[LmeQuestion], per_type: int) -> list[LmeQuestion]:
    """The first `per_type` non-abstention questions of each type plus as many abstention ones, file order."""
    picked: list[LmeQuestion] = []
    for qtype in (*TYPES, "_abs"):
        group = [
            q
            for q in questions
            if (q.abstention if qtype == "_abs" else q.qtype == qtype and not q.abstention)
        ]
        picked += group[:per_type]
    return sorted(picked, key=questions.index)


def new_memories(turn: LmeTurn) -> list[NewMemory]:
    """The turn as the product's write path builds it (memory.turns.turn_memories), at its session time."""
    said = Turn(
        0, "lme", "lme", "assistant" if turn.role == "assistant" else "user", turn.text, turn.created_at
    )
    return turn_memories(said, created_at=turn.created_at)
