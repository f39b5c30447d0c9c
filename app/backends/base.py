"""The backend contract: one async generator of text deltas."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, TypedDict


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


class BackendError(Exception):
    """A backend failed; the message is safe to show to the user."""

    def __init__(self, message: str, *, code: str = "backend_error") -> None:
        super().__init__(message)
        self.code = code


class Backend(Protocol):
    """A language model that streams a reply."""

    name: str
    # Its text is her speech, so the reply rules apply (persona/guard.py); the echo backend's digest of the
    # prompt is not, and stays verbatim for the tests that read it.
    speaks: bool

    def generate(self, messages: Sequence[Message], params: GenParams) -> AsyncIterator[str]:
        """Yield text deltas in order; their concatenation is the whole reply."""
        ...

    async def aclose(self) -> None:
        """Release the model or connection."""
        ...


def approx_tokens(text: str) -> int:
    """A tokenizer-free estimate (about four characters a token) for backends without one."""
    return max(1, (len(text) + 3) // 4)
