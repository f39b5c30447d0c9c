"""LoCoMo (Maharana et al., ACL 2024): load, verify and parse locomo10.json into turns and questions.

Format and licence: ../shared/bench/README.md. Everything here is generic parsing; nothing depends on the
names or questions of the data set.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from memory.models import Memory, Turn
from memory.store import MemoryStore
from memory.turns import memory_text, turn_memories, turn_memory
from memory.write import NewMemory

# The repo and ../shared sit side by side (here and in CI).
DATA_PATH = Path(__file__).resolve().parents[1].parent / "shared" / "bench" / "locomo10.json"
CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop", 5: "adversarial"}
_SESSION = re.compile(r"session_(\d+)")
_EVIDENCE = re.compile(r"D:?0*(\d+):0*(\d+)")


class DataError(Exception):
    """The data file is missing or is not the pinned version."""


@dataclass(frozen=True)
class LocomoTurn:
    """One utterance: its id ("D<session>:<turn>"), speaker, text, image caption and session time."""

    dia_id: str
    speaker: str
    text: str
    caption: str | None
    when: datetime
    position: int  # index of the turn in the whole conversation

    @property
    def created_at(self) -> str:
        return self.when.isoformat(timespec="seconds")


@dataclass(frozen=True)
class LocomoQuestion:
    question: str
    category: int
    gold: frozenset[str]  # resolved evidence ids that name a turn of this conversation
    unresolved: tuple[str, ...]  # evidence tokens that name no turn


@dataclass(frozen=True)
class LocomoConversation:
    sample_id: str
    turns: tuple[LocomoTurn, ...]
    questions: tuple[LocomoQuestion, ...]


def verify(path: Path = DATA_PATH) -> bytes:
    """The file's bytes, after checking them against the pinned sha256 beside it."""
    if not path.is_file():
        raise DataError(
            f"LoCoMo data not found at {path}: place locomo10.json (see shared/bench/README.md) there"
        )
    raw = path.read_bytes()
    pin_file = path.with_name(path.name + ".sha256")
    if not pin_file.is_file():
        raise DataError(f"checksum file {pin_file} is missing; refusing to benchmark unpinned data")
    expected = pin_file.read_text().split()[0].lower()
    actual = hashlib.sha256(raw).hexdigest()
    if actual != expected:
        raise DataError(f"{path} has sha256 {actual}, expected {expected} (from {pin_file.name})")
    return raw


def session_time(text: str) -> datetime:
    """'1:56 pm on 8 May, 2023' -> an aware datetime (UTC; only differences between sessions matter)."""
    return datetime.strptime(" ".join(text.split()), "%I:%M %p on %d %B, %Y").replace(tzinfo=UTC)


def parse_evidence(raw: list[str], known: set[str]) -> tuple[frozenset[str], tuple[str, ...]]:
    """Resolve evidence ids written loosely ("D8:6; D9:17", "D30:05", "D:11:26", space-separated lists)."""
    gold: set[str] = set()
    unresolved: list[str] = []
    for entry in raw:
        for token in re.split(r"[;,\s]+", str(entry).strip()):
            if not token:
                continue
            m = _EVIDENCE.fullmatch(token)
            dia_id = f"D{int(m.group(1))}:{int(m.group(2))}" if m else ""
            if dia_id in known:
                gold.add(dia_id)
            else:
                unresolved.append(token)
    return frozenset(gold), tuple(unresolved)


def _conversation(sample: dict[str, Any]) -> LocomoConversation:
    conv = sample["conversation"]
    sessions = sorted(
        (int(m.group(1)), key)
        for key in conv
        if (m := _SESSION.fullmatch(key)) and isinstance(conv[key], list)
    )
    turns: list[LocomoTurn] = []
    for number, key in sessions:
        when = session_time(conv[f"session_{number}_date_time"])
        for t in conv[key]:
            caption = t.get("blip_caption")
            turns.append(LocomoTurn(t["dia_id"], t["speaker"], t["text"], caption, when, len(turns)))
    known = {t.dia_id for t in turns}
    questions = []
    for q in sample["qa"]:
        gold, unresolved = parse_evidence(q.get("evidence") or [], known)
        questions.append(LocomoQuestion(q["question"], int(q["category"]), gold, unresolved))
    return LocomoConversation(str(sample.get("sample_id", "")), tuple(turns), tuple(questions))


def load(path: Path = DATA_PATH) -> list[LocomoConversation]:
    """Every conversation of the verified file, turns in session order."""
    return [_conversation(sample) for sample in json.loads(verify(path))]


def said_text(turn: LocomoTurn) -> str:
    """What was said: the text, and the caption of an image shared with it."""
    return turn.text if not turn.caption else f"{turn.text} (shared an image: {turn.caption})"


def locomo_turn(turn: LocomoTurn) -> Turn:
    """The utterance as a logged turn of the product."""
    return Turn(0, "locomo", "locomo", "user", said_text(turn), turn.created_at)


def stored_text(turn: LocomoTurn) -> str:
    """The turn as the product stores one (memory.turns.memory_text), the speaker's name as its speaker."""
    return memory_text(locomo_turn(turn), turn.speaker)


def new_memory(turn: LocomoTurn) -> NewMemory:
    """The whole turn as one memory (memory.turns.turn_memory): the same text for every system compared."""
    return turn_memory(locomo_turn(turn), turn.speaker, created_at=turn.created_at)


def new_memories(turn: LocomoTurn) -> list[NewMemory]:
    """The turn as the product's write path builds it (memory.turns.turn_memories, as app.learning does),
    the speaker named: stored with date and name, embedded as who said what, created at the session time."""
    return turn_memories(locomo_turn(turn), turn.speaker, created_at=turn.created_at)


async def ingest(
    store: MemoryStore, user: str, turns: Sequence[LocomoTurn], vectors: np.ndarray | None = None
) -> list[tuple[str, Memory]]:
    """Write the turns through the product's write path as `user` (no de-duplication: every turn is
    evidence; `vectors`: the embeddings of their new_memories, if already computed); (dia_id, memory) for
    each memory made (a long turn makes one per passage)."""
    made = [(t.dia_id, m) for t in turns for m in new_memories(t)]
    memories = await store.remember_batch(user, [m for _, m in made], vectors=vectors, dedupe=False)
    return [(d, m) for m, (d, _) in zip(memories, made, strict=True) if m is not None]
