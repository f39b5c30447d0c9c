"""The chat socket's voice frames (docs/PROTOCOL.md, "Voice"); app/protocol.py adds them to its unions."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid")


# Client -> server (besides binary frames: each one is a recorded utterance to transcribe)


class VoiceSettings(_Frame):
    """Read her replies aloud on this socket (or stop), in her voice or another one she has."""

    type: Literal["voice"]
    read_aloud: bool
    voice: str | None = Field(None, max_length=400)


# Server -> client


class VoiceState(_Frame):
    """Answer to `voice`: what this socket now gets, and what the server can do."""

    type: Literal["voice_state"] = "voice_state"
    read_aloud: bool
    voice: str | None  # the voice her replies are read in; null when the server has none (--voice off)
    voices: list[str]
    listen: bool  # whether audio frames are transcribed (--listen)


class AudioChunk(_Frame):
    """One sentence of her reply, spoken: a whole WAV file, base64-encoded."""

    type: Literal["audio"] = "audio"
    index: int  # 0, 1, 2 ... within the reply
    text: str  # the sentence it says
    mime: str = "audio/wav"
    sample_rate: int
    seconds: float
    data: str


class AudioEnd(_Frame):
    """Her reply has been read out to the end (or stopped early)."""

    type: Literal["audio_end"] = "audio_end"
    chunks: int
    interrupted: bool = False


class Heard(_Frame):
    """What was said in an audio frame; the page puts it in the message box."""

    type: Literal["transcript"] = "transcript"
    text: str
    seconds: float  # the audio's length
    ms: float  # how long transcribing took


VoiceServerFrame = VoiceState | AudioChunk | AudioEnd | Heard
