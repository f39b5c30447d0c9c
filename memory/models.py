"""The values memory hands out: turns, memories, and recalled memories with their scores."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from persona.errors import SamanthaError

Kind = Literal["turn", "fact", "reflection", "seed", "plan"]
Role = Literal["user", "assistant"]
KINDS: tuple[Kind, ...] = ("turn", "fact", "reflection", "seed", "plan")

# Seed passages belong to everyone and no one: they live under this scope and are read-only.
SHARED = "*"


class MemoryError_(SamanthaError):
    """A memory operation was refused (unknown id, read-only seed, corrupt database)."""


@dataclass(frozen=True)
class Turn:
    """One message of a conversation, as logged."""

    id: int
    user: str
    conversation: str
    role: Role
    text: str
    created_at: str
    status: str = "complete"


@dataclass(frozen=True)
class Memory:
    """Something she remembers; `text` keeps who said it and when."""

    id: int
    user: str
    kind: Kind
    text: str
    created_at: str
    importance: float
    source: tuple[int, ...] = ()
    valid_to: str | None = None
    fact_key: str | None = None


@dataclass(frozen=True)
class Score:
    """Why a memory was recalled. Every part is in [0, 1]; higher means closer. total orders recall."""

    total: float
    dense: float
    lexical: float
    recency: float
    importance: float
    context: float = 0.0  # lifted by a neighbouring turn that matched (a fragment of the same exchange)


@dataclass(frozen=True)
class Recalled:
    """A memory together with the score that brought it back."""

    memory: Memory
    score: Score = field(compare=False)


@dataclass(frozen=True)
class Conversation:
    """A conversation as listed: its first line and when it started."""

    id: str
    title: str
    created_at: str
    turns: int
