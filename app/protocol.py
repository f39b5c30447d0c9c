"""Websocket frames: JSON objects tagged by "type" (see docs/PROTOCOL.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from app.voice.frames import VoiceServerFrame, VoiceSettings

MAX_TEXT_CHARS = 8000


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid")


# Client -> server


class Hello(_Frame):
    type: Literal["hello"]
    conversation: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    token: str | None = Field(None, max_length=256)


class UserMessage(_Frame):
    type: Literal["user"]
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)

    @field_validator("text")
    @classmethod
    def _says_something(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("the message is only whitespace; say something")
        return text


class Cancel(_Frame):
    type: Literal["cancel"]


class Ping(_Frame):
    type: Literal["ping"]


ClientFrame = Annotated[Hello | UserMessage | Cancel | Ping | VoiceSettings, Field(discriminator="type")]
client_frame = TypeAdapter(ClientFrame)


# Server -> client


class Ready(_Frame):
    type: Literal["ready"] = "ready"
    persona: str
    greeting: str
    conversation: str
    backend: str


class ScoreParts(_Frame):
    """Why a memory was recalled; every part is in [0, 1] and higher means more relevant."""

    total: float
    dense: float
    lexical: float
    recency: float
    importance: float
    context: float = 0.0  # lifted by a neighbouring turn that matched


class RecalledMemory(_Frame):
    id: int
    kind: str
    text: str
    score: float
    why: ScoreParts


class Recalled(_Frame):
    type: Literal["recalled"] = "recalled"
    memories: list[RecalledMemory]


class Delta(_Frame):
    type: Literal["delta"] = "delta"
    text: str


class Done(_Frame):
    type: Literal["done"] = "done"
    text: str
    turn_id: int
    user_turn_id: int
    interrupted: bool = False
    timings: dict[str, float] = Field(default_factory=dict)


class Error(_Frame):
    type: Literal["error"] = "error"
    code: str
    message: str
    user_turn_id: int | None = None


class Pong(_Frame):
    type: Literal["pong"] = "pong"


ServerFrame = Ready | Recalled | Delta | Done | Error | Pong | VoiceServerFrame
