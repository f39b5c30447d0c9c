"""The chat vocabulary the prompt and every model backend share: a leaf module that imports nothing of ours.

`persona.prompt` builds a list of `Message`; `app.backends` send it to a model with `GenParams`. Both sides
import this module, so neither imports the other (docs/ARCHITECTURE.md, layers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypedDict


class Message(TypedDict):
    """One chat message, in the shape every chat API understands."""

    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class GenParams:
    """Generation parameters; a backend ignores what it cannot honour."""

    max_tokens: int = 160
    temperature: float = 0.6
    top_p: float = 0.95
    repeat_penalty: float = 1.3
    stop: tuple[str, ...] = field(default_factory=tuple)
    # False for a chore such as fact extraction: a remote Samantha must not remember it as the person's words.
    store: bool = True


def approx_tokens(text: str) -> int:
    """A tokenizer-free estimate (about four characters a token) for backends without one."""
    return max(1, (len(text) + 3) // 4)
