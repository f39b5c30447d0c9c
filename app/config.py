"""Settings: one object, from env vars (SAMANTHA_*) and `samantha serve` flags."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.model_catalog import DEFAULT_MODEL, check_model_name
from app.voice.tts import check_voice_choice

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent


def shipped(folder: str) -> Path:
    """A folder that ships with Samantha: inside the installed package (pyproject.toml maps web/ and
    seeds/ to app/web and app/seeds), else in the source tree beside it (an editable install)."""
    inside = PACKAGE_DIR / folder
    return inside if inside.is_dir() else PROJECT_ROOT / folder


DEFAULT_PERSONA = PROJECT_ROOT / "persona" / "samantha.toml"
DEFAULT_SEEDS = shipped("seeds")

BackendName = Literal["llamacpp", "openai", "scripted", "echo"]


class DataSettings(BaseSettings):
    """Where her memory lives and whose it is: all that the memory and user commands need."""

    model_config = SettingsConfigDict(env_prefix="SAMANTHA_", extra="forbid", validate_default=True)

    data_dir: Path = Field(Path("data"), description="Directory holding the memory database and index.")
    user: str = Field("me", pattern=r"^[a-z0-9_.-]{1,32}$", description="The single local user's name.")
    embedder: Literal["auto", "onnx", "torch"] = Field(
        "auto",
        description="Runtime of the embedding model: onnx (2-3x faster), torch (the reference), or auto "
        "(ONNX when it works, else torch). Both give the same vectors.",
    )
    database: str | None = Field(
        None,
        description="A Postgres database (postgresql://USER:PASSWORD@HOST:PORT/NAME, with pgvector) for "
        "memory and accounts, which any number of servers can share; unset: the embedded store in the "
        "data directory.",
    )

    @field_validator("database", mode="before")
    @classmethod
    def _postgres_url(cls, value: object) -> object:
        if value is None or value == "":
            return None
        if not isinstance(value, str) or not value.startswith(("postgresql://", "postgres://")):
            raise ValueError(
                "give a URL starting with postgresql://, e.g. postgresql://me@localhost/samantha"
            )
        return value


class Settings(DataSettings):
    """Everything Samantha can be configured with; each description is a `--help` line."""

    host: str = Field("127.0.0.1", description="Address the server listens on.")
    port: int = Field(8000, ge=1, le=65535, description="TCP port the server listens on (1-65535).")
    backend: BackendName = Field(
        "llamacpp", description="Language-model backend: llamacpp | openai | scripted | echo."
    )
    model: str | None = Field(
        None,
        description=f"For llamacpp: a model name (`samantha models` lists them; default {DEFAULT_MODEL}) "
        "or a GGUF file's path.",
    )
    base_url: str | None = Field(
        None, description="Base URL of an OpenAI-compatible server, e.g. http://localhost:11434/v1."
    )
    api_key: str | None = Field(
        None, description="API key for the remote server (many local ones ignore it)."
    )
    remote_model: str | None = Field(None, description="Model name to ask the remote server for.")
    remote_timeout: float = Field(60.0, gt=0, description="Seconds to wait for the remote server.")
    script: Path | None = Field(
        None, description="For the scripted backend: a text file of replies, separated by lines of '---'."
    )
    script_delay: float = Field(
        0.0,
        ge=0.0,
        le=5.0,
        description="For the scripted and echo backends: seconds between words (demos, tests).",
    )
    persona_file: Path = Field(DEFAULT_PERSONA, description="Persona TOML file.")
    seeds_dir: Path | None = Field(
        DEFAULT_SEEDS, description="Directory of film reviews to ingest once ('' to skip seeding)."
    )
    recall_k: int = Field(5, ge=0, le=50, description="Memories recalled per turn (0-50).")
    history_turns: int = Field(6, ge=0, le=100, description="Recent turns of the conversation in the prompt.")
    max_tokens: int = Field(160, ge=1, le=4096, description="Maximum tokens in one reply.")
    temperature: float = Field(0.6, ge=0.0, le=2.0, description="Sampling temperature (0-2).")
    repeat_penalty: float = Field(
        1.3, ge=1.0, le=2.0, description="Penalty for repeating tokens (llamacpp); a tiny model needs one."
    )
    facts: Literal["auto", "rules", "model"] = Field(
        "auto",
        description="How facts about you are learned: rules, model (JSON from the model), or auto "
        "(model for the openai backend, rules for the tiny local one).",
    )
    context_tokens: int = Field(2048, ge=256, le=32768, description="Prompt + reply token budget.")
    threads: int | None = Field(None, ge=1, description="CPU threads for llama.cpp (default: all cores).")
    rate_limit: int = Field(
        60,
        ge=0,
        le=100_000,
        description="Turns a user may take per minute (0: no limit); bursts of 10 allowed.",
    )
    # Who may reach the server, and how much each connection may hold (app/guard.py, app/connections.py).
    allowed_hosts: str = Field(
        "",
        description="Extra names the server is reached by, comma-separated (IP addresses and localhost "
        "always work; '*' allows any name, which re-opens DNS rebinding).",
    )
    allowed_origins: str = Field(
        "",
        description="Web pages besides her own that may use the API and the chat socket, comma-separated "
        "(e.g. http://my-site.example:3000; '*' allows any page).",
    )
    max_request_bytes: int = Field(
        2 << 20, ge=1024, le=1 << 30, description="Largest HTTP request body accepted, in bytes."
    )
    header_timeout: float = Field(
        10.0, gt=0, le=600, description="Seconds a new connection gets to send its request headers."
    )
    hello_timeout: float = Field(
        30.0, gt=0, le=3600, description="Seconds a chat socket gets to send its hello frame."
    )
    max_connections_per_address: int = Field(
        256, ge=1, le=100_000, description="Open connections allowed from one client address."
    )
    encrypt: bool = Field(
        False,
        description="Keep the data folder encrypted (SQLCipher): the passphrase comes from "
        "SAMANTHA_PASSPHRASE or is asked for at start. A folder already encrypted is opened so anyway.",
    )
    max_sockets_per_user: int = Field(16, ge=1, le=10_000, description="Open chat sockets allowed per user.")
    # Her voice and ears (app/voice/, docs/VOICE.md): each model loads on first use.
    voice: str | None = Field(
        None,
        description="The voice her replies are read in: joe, espeak, a Piper voice file (.onnx), or off "
        "(default: the persona file's speech_voice, else joe).",
    )
    listen: Literal["on", "off"] = Field(
        "on", description="Speech to text for push-to-talk, call mode and /v1/audio/transcriptions."
    )
    voice_threads: int = Field(
        1, ge=1, le=64, description="CPU threads for her voice, and as many for her ears (speech to text)."
    )
    max_audio_bytes: int = Field(
        25 << 20, ge=1024, le=1 << 30, description="Largest audio file /v1/audio/transcriptions accepts."
    )
    initiative: bool = Field(
        True,
        description="She may message first (a follow-up, a check-in) on an open socket; each person "
        "can also turn it off for themselves (PUT /api/initiative).",
    )
    initiative_per_day: int = Field(1, ge=0, le=24, description="Unprompted messages a day, at most.")
    quiet_hours: str = Field(
        "22-8",
        pattern=r"^([01]?\d|2[0-3])-([01]?\d|2[0-3])$",
        description="Local hours with no unprompted messages, FROM-TO (24h), e.g. 22-8.",
    )
    check_in_days: float = Field(7.0, gt=0, description="Days of silence after which she checks in.")
    journal_after_minutes: float = Field(
        30.0, gt=0, description="Minutes a conversation stays quiet before she writes it up in her journal."
    )
    initiative_interval: float = Field(
        60.0, gt=0, le=86400, description="Seconds between two rounds of looking for messages that are due."
    )

    @field_validator("seeds_dir", mode="before")
    @classmethod
    def _empty_means_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("model")
    @classmethod
    def _known_model(cls, model: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("backend") == "llamacpp":
            check_model_name(model)
        return model

    @field_validator("voice")
    @classmethod
    def _known_voice(cls, value: str | None) -> str | None:
        return None if value is None else check_voice_choice(value)

    @model_validator(mode="after")
    def _check_backend_needs(self) -> Settings:
        # Settings describe; files and models are found at start (app/services.py, check_files).
        if self.backend == "openai" and not self.base_url:
            raise ValueError(
                "base_url: the openai backend needs --base-url (or SAMANTHA_BASE_URL), "
                "e.g. http://127.0.0.1:11434/v1 for Ollama"
            )
        return self


def describe_errors(error: ValidationError) -> str:
    """Turn a pydantic error into lines that name the setting, its flag and env var, and the fix."""
    lines = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else ""
        message = str(item["msg"]).removeprefix("Value error, ")
        if field:
            flag = "--" + field.replace("_", "-")
            lines.append(f"{field} ({flag} / SAMANTHA_{field.upper()}): {message}")
        else:
            lines.append(message)
    return "invalid settings:\n  " + "\n  ".join(lines)
