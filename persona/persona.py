"""Load and validate a persona file (TOML)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from persona.errors import SamanthaError
from persona.lorebook import LoreEntry


class PersonaError(SamanthaError, ValueError):
    """A persona file is missing, unreadable or invalid; the message names the file and field."""


class Example(BaseModel):
    """A worked exchange that shows how she talks (small models follow examples better than rules)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    user: str = Field(min_length=1)
    reply: str = Field(min_length=1)


class Persona(BaseModel):
    """Who she is: the stable part of every prompt."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=60)
    tagline: str = ""
    system: str = Field(min_length=1)
    voice: str = ""
    speech_voice: str | None = None  # the voice her replies are read aloud in (app/voice/tts.py)
    boundaries: list[str] = Field(default_factory=list)
    examples: list[Example] = Field(default_factory=list)
    greeting: str = Field(min_length=1)
    # What character cards bring besides the above (all optional; see persona/cards.py).
    scenario: str = ""
    example_dialogue: str = ""  # a card's example dialogue (mes_example), as the card wrote it
    post_history: str = ""  # the card's post-history instructions: kept last in her system text
    greetings: list[str] = Field(default_factory=list)  # alternate greetings
    lorebook: list[LoreEntry] = Field(default_factory=list)

    def system_text(self) -> str:
        """The persona part of the system message (identical every turn, so it can be cached)."""
        parts = [self.system.strip()]
        if self.voice.strip():
            parts.append(self.voice.strip())
        if self.scenario.strip():
            parts.append(f"Scenario: {self.scenario.strip()}")
        if self.boundaries:
            parts.append("Always:\n" + "\n".join(f"- {rule}" for rule in self.boundaries))
        if self.examples:
            shown = "\n".join(f"Them: {e.user}\nYou: {e.reply}" for e in self.examples)
            parts.append(f"Examples of how you answer (not real conversations):\n{shown}")
        if self.example_dialogue.strip():
            parts.append(f"How you talk, for example:\n{self.example_dialogue.strip()}")
        if self.post_history.strip():  # a card's post-history instructions: last, nearest the chat
            parts.append(self.post_history.strip())
        return "\n\n".join(parts)


def load_persona(path: Path) -> Persona:
    """Read a persona TOML file; raise PersonaError with the file and field on any problem."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PersonaError(f"cannot read persona file {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PersonaError(f"persona file {path} is not valid TOML: {exc}") from exc
    try:
        return Persona.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'file'}: {err['msg']}" for err in exc.errors()
        )
        raise PersonaError(f"persona file {path} is invalid: {problems}") from exc
