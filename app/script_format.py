"""The format of a scripted conversation (`samantha script FILE.yaml`): steps, expectations, loading."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from persona.clock import ClockError, parse_duration, parse_time
from persona.errors import SamanthaError


class Expect(BaseModel):
    """What must hold after a turn; each value is a case-insensitive regular expression."""

    model_config = ConfigDict(extra="forbid")
    recalled: str | None = Field(None, description="Some recalled memory matches this.")
    not_recalled: str | None = Field(None, description="No recalled memory matches this.")
    reply: str | None = Field(None, description="The reply matches this.")
    not_reply: str | None = Field(None, description="The reply does not match this.")
    error: str | None = Field(None, description="The turn ends in an error whose code matches this.")
    greeting: str | None = Field(None, description="On a new conversation: her greeting matches this.")
    not_greeting: str | None = Field(None, description="On a new conversation: her greeting does not.")
    proactive: str | None = Field(
        None,
        description="After the clock moved: a message she sent unprompted matches this (the reason too).",
    )
    not_proactive: str | None = Field(
        None, description="Her scheduler runs a round after the clock moved: no message matches ('.': none)."
    )


class Step(BaseModel):
    """One step: move the clock, restart the server, open a new conversation, then say something."""

    model_config = ConfigDict(extra="forbid")
    at: str | None = Field(None, description="Set the clock to this local time first: 2026-12-01T09:00.")
    advance: str | None = Field(None, description="Move the clock forward first: '3 days', '2 hours'.")
    user: str | None = None
    reply: str | None = Field(None, description="What the scripted backend answers to this message.")
    expect: Expect = Field(default_factory=Expect)
    new_conversation: bool = False
    restart: bool = False

    @field_validator("at")
    @classmethod
    def _a_time(cls, at: str | None) -> str | None:
        if at is not None:
            try:
                parse_time(at)
            except ClockError as exc:
                raise ValueError(str(exc)) from exc
        return at

    @field_validator("advance")
    @classmethod
    def _a_duration(cls, advance: str | None) -> str | None:
        if advance is not None:
            try:
                parse_duration(advance)
            except ClockError as exc:
                raise ValueError(str(exc)) from exc
        return advance

    @model_validator(mode="after")
    def _greeting_on_a_new_conversation(self) -> Step:
        if (self.expect.greeting or self.expect.not_greeting) and not self.new_conversation:
            raise ValueError("expect.greeting and expect.not_greeting need new_conversation: true")
        if (self.expect.proactive or self.expect.not_proactive) and not (self.at or self.advance):
            raise ValueError(
                "expect.proactive and expect.not_proactive need the clock to move (at or advance)"
            )
        return self


class ScriptFile(BaseModel):
    """A scripted conversation."""

    model_config = ConfigDict(extra="forbid")
    name: str
    backend: Literal["llamacpp", "openai", "scripted", "echo"] | None = None
    start: str | None = Field(None, description="The clock's time at the start (default: when it runs).")
    turns: list[Step] = Field(min_length=1)

    @field_validator("start")
    @classmethod
    def _a_start(cls, start: str | None) -> str | None:
        return Step._a_time(start)

    def uses_time(self) -> bool:
        """Whether the script moves time (then the server runs on the script's own clock)."""
        return self.start is not None or any(s.at or s.advance for s in self.turns)


class ScriptError(SamanthaError, ValueError):
    """The script file cannot be read or does not follow the format."""


def load_script(path: Path) -> ScriptFile:
    """Parse and validate a script file, with errors that name the file and the field."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScriptError(f"cannot read {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ScriptError(f"{path} is not valid YAML: {exc}") from exc
    try:
        return ScriptFile.model_validate(data)
    except ValidationError as exc:
        where = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ScriptError(f"{path} is not a valid script: {where}") from exc
