"""Deterministic backends for offline tests: scripted replies, and an echo of what reached the model."""

from __future__ import annotations

import asyncio
import re
from collections import deque
from collections.abc import AsyncGenerator, Iterable, Sequence
from pathlib import Path

from app.backends.base import BackendError
from persona.messages import GenParams, Message, approx_tokens


def _pieces(text: str) -> list[str]:
    """Split a reply into word-sized deltas (whitespace kept) so streaming looks like a model's."""
    return re.findall(r"\S+\s*|\s+", text)


class _Offline:
    """What the offline backends share: no tokenizer, nothing to load or release."""

    extracts_facts = False

    def count_tokens(self, text: str) -> int:
        """An estimate: there is no tokenizer."""
        return approx_tokens(text)

    async def start(self) -> None:
        """Nothing to prepare."""

    async def aclose(self) -> None:
        """Nothing to release."""


class ScriptedBackend(_Offline):
    """Replays queued replies in order and records every prompt; fails loudly when it runs out."""

    name = model_name = "scripted"
    speaks = True

    def __init__(self, replies: Iterable[str] = (), *, delay: float = 0.0) -> None:
        self._replies: deque[str] = deque(replies)
        self.delay = delay
        self.prompts: list[list[Message]] = []  # as many as its script has replies

    @classmethod
    def from_file(cls, path: Path) -> ScriptedBackend:
        """Replies from a text file, separated by lines holding only `---`."""
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise BackendError(f"cannot read the script {path}: {exc.strerror}", code="model_load") from exc
        replies = [r.strip() for r in re.split(r"^---\s*$", text, flags=re.MULTILINE)]
        return cls(r for r in replies if r)

    def queue(self, *replies: str) -> None:
        """Add replies to the end of the script."""
        self._replies.extend(replies)

    @property
    def remaining(self) -> int:
        """How many replies are left."""
        return len(self._replies)

    async def generate(self, messages: Sequence[Message], params: GenParams) -> AsyncGenerator[str, None]:
        """Stream the next scripted reply word by word."""
        self.prompts.append(list(messages))
        if not self._replies:
            raise BackendError(
                f"the scripted backend has no reply left for prompt #{len(self.prompts)}",
                code="script_exhausted",
            )
        for piece in _pieces(self._replies.popleft()):
            await asyncio.sleep(self.delay)
            yield piece


def digest(messages: Sequence[Message]) -> str:
    """A short, deterministic account of a prompt: the new message and the memories that reached it."""
    user = messages[-1]["content"] if messages else ""
    # Memories reach a model as quoted lines ('- "..."') in the system message nearest the new one.
    context = next((m["content"] for m in reversed(messages) if m["role"] == "system"), "")
    notes = [line[2:].strip().strip('"') for line in context.splitlines() if line.startswith('- "')]
    history = sum(1 for m in messages[1:-1] if m["role"] != "system")
    recalled = " | ".join(notes) if notes else "nothing"
    return f'You said: "{user}". I recall: {recalled}. ({history} earlier messages in view.)'


class EchoBackend(_Offline):
    """Replies with a digest of what it was given, so tests can see exactly what reached the model."""

    name = model_name = "echo"
    speaks = False

    def __init__(self, *, delay: float = 0.0) -> None:
        self.delay = delay
        # The latest prompts, for tests to inspect; bounded, since a server may run on it for days.
        self.prompts: deque[list[Message]] = deque(maxlen=64)

    async def generate(self, messages: Sequence[Message], params: GenParams) -> AsyncGenerator[str, None]:
        """Stream the digest word by word."""
        self.prompts.append(list(messages))
        for piece in _pieces(digest(messages)):
            await asyncio.sleep(self.delay)
            yield piece
