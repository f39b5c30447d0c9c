"""The backend contract: one async generator of text deltas, and what the backend can do besides."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from typing import Protocol

from persona.errors import SamanthaError
from persona.messages import GenParams, Message


class BackendError(SamanthaError):
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
    # Whether it can be asked for facts as JSON (app/fact_model.py); the small local models cannot.
    extracts_facts: bool

    @property
    def model_name(self) -> str:
        """The model as people would name it (a file name, the remote server's model id)."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens `text` costs in this model's prompt (exact with a tokenizer, else estimated)."""
        ...

    def generate(self, messages: Sequence[Message], params: GenParams) -> AsyncGenerator[str, None]:
        """Yield text deltas in order; their concatenation is the whole reply."""
        ...

    async def start(self) -> None:
        """Get ready to answer once the server starts (a remote server is asked for its model)."""
        ...

    async def aclose(self) -> None:
        """Release the model or connection."""
        ...
