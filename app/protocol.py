"""Websocket frames: JSON objects tagged by "type" (see docs/PROTOCOL.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from memory.models import Recalled as RecalledValue

MAX_TEXT_CHARS = 8000


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _ServerFrame(BaseModel):
    # A client keeps working when a newer server adds fields: it reads what it knows.
    model_config = ConfigDict(extra="ignore", from_attributes=True)


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


class VoiceSettings(_Frame):
    """Read her replies aloud on this socket (or stop), in her voice or another one she has."""

    type: Literal["voice"]
    read_aloud: bool
    voice: str | None = Field(None, max_length=400)


ClientFrame = Annotated[Hello | UserMessage | Cancel | Ping | VoiceSettings, Field(discriminator="type")]
client_frame = TypeAdapter(ClientFrame)


# Server -> client


class MoodOut(_ServerFrame):
    """Her mood with this person (memory/mood.py): a word, the two numbers in [-1, 1], and why."""

    word: str
    valence: float
    energy: float
    cause: str
    since: str


class Ready(_ServerFrame):
    type: Literal["ready"] = "ready"
    persona: str
    greeting: str
    conversation: str
    backend: str
    mood: MoodOut | None = None


class ScoreParts(_ServerFrame):
    """Why a memory was recalled; every part is in [0, 1] and higher means more relevant."""

    total: float
    dense: float
    lexical: float
    recency: float
    importance: float
    context: float = 0.0  # lifted by a neighbouring turn that matched


class RecalledMemory(_ServerFrame):
    id: int
    kind: str
    text: str
    score: float
    why: ScoreParts

    @classmethod
    def of(cls, recalled: RecalledValue) -> RecalledMemory:
        """A recalled memory as the client sees it: the memory, its total score and the parts of it."""
        memory, score = recalled.memory, recalled.score
        why = ScoreParts.model_validate(score)
        return cls(id=memory.id, kind=memory.kind, text=memory.text, score=score.total, why=why)


class Recalled(_ServerFrame):
    type: Literal["recalled"] = "recalled"
    memories: list[RecalledMemory]
    mood: MoodOut | None = None  # how she feels as she answers (None: calm)


class Delta(_ServerFrame):
    type: Literal["delta"] = "delta"
    text: str


class Done(_ServerFrame):
    type: Literal["done"] = "done"
    text: str
    turn_id: int
    user_turn_id: int
    interrupted: bool = False
    timings: dict[str, float] = Field(default_factory=dict)


class ErrorFrame(_ServerFrame):
    type: Literal["error"] = "error"
    code: str
    message: str
    user_turn_id: int | None = None


class Pong(_ServerFrame):
    type: Literal["pong"] = "pong"


# Her voice (docs/PROTOCOL.md, "Voice"; app/voice/link.py speaks and listens on the socket).


class VoiceState(_ServerFrame):
    """Answer to `voice`: what this socket now gets, and what the server can do."""

    type: Literal["voice_state"] = "voice_state"
    read_aloud: bool
    voice: str | None  # the voice her replies are read in; null when the server has none (--voice off)
    voices: list[str]
    listen: bool  # whether audio frames are transcribed (--listen)


class AudioChunk(_ServerFrame):
    """One sentence of her reply, spoken: a whole WAV file, base64-encoded."""

    type: Literal["audio"] = "audio"
    index: int  # 0, 1, 2 ... within the reply
    text: str  # the sentence it says
    mime: str = "audio/wav"
    sample_rate: int
    seconds: float
    data: str


class AudioEnd(_ServerFrame):
    """Her reply has been read out to the end (or stopped early)."""

    type: Literal["audio_end"] = "audio_end"
    chunks: int
    interrupted: bool = False


class Heard(_ServerFrame):
    """What was said in an audio frame; the page puts it in the message box."""

    type: Literal["transcript"] = "transcript"
    text: str
    seconds: float  # the audio's length
    ms: float  # how long transcribing took


class Proactive(_ServerFrame):
    """A message she sends unprompted (a follow-up, a check-in), already stored as her turn."""

    type: Literal["proactive"] = "proactive"
    text: str
    reason: Literal["follow_up", "check_in", "good_night"]
    turn_id: int


ServerFrame = Annotated[
    Ready
    | Recalled
    | Delta
    | Done
    | ErrorFrame
    | Pong
    | VoiceState
    | AudioChunk
    | AudioEnd
    | Heard
    | Proactive,
    Field(discriminator="type"),
]
# The one reading of a server frame: the terminal client, the script runner and the tests all use it.
server_frame: TypeAdapter[ServerFrame] = TypeAdapter(ServerFrame)
