"""Shared fixtures: the real embedder (loaded once), settings in a temporary data dir, a real server."""

from __future__ import annotations

import json
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pgserver
import psycopg
import pytest
from websockets.asyncio.client import ClientConnection, connect

from app.backends import Backend
from app.backends.scripted import EchoBackend
from app.config import Settings
from app.server import RunningServer
from app.voice.service import Voice
from memory.embedder import Embedder, load_embedder
from memory.pg.store import PgMemoryStore
from memory.store import MemoryStore
from tests.frames import wire_frame
from tests.terminal import terminal  # noqa: F401  (`samantha chat` on a pseudo-terminal, for any test)


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The bundled all-MiniLM-L6-v2, loaded once for the whole run."""
    return load_embedder()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Any]:
    """A real Postgres with pgvector (the pgserver wheel), started once in a temporary folder."""
    # Not under pytest's tmp_path: run as root, pgserver starts Postgres as an unprivileged user, who must
    # be able to reach the folder (pytest's are private to root).
    with tempfile.TemporaryDirectory(prefix="samantha-pg-") as folder:
        server = pgserver.get_server(folder, cleanup_mode="stop")
        yield server
        server.cleanup()


@pytest.fixture
def postgres_url(postgres: Any) -> Iterator[str]:
    """A fresh, empty database on the test Postgres (dropped after the test)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = postgres.get_uri()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
    yield postgres.get_uri(name)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {name} WITH (FORCE)")  # type: ignore[arg-type]


@pytest.fixture
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, embedder: Embedder
) -> AsyncIterator[MemoryStore | PgMemoryStore]:
    """A real memory store, fresh, closed after the test: the embedded one, or (parametrised by
    tests/engines.py's `both_engines`) each engine in turn, Postgres on its own new database."""
    engine = getattr(request, "param", "sqlite")
    s: MemoryStore | PgMemoryStore
    if engine == "sqlite":
        s = await MemoryStore.open(tmp_path / "data", embedder)
    else:
        s = await PgMemoryStore.open(request.getfixturevalue("postgres_url"), embedder)
    yield s
    await s.aclose()


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Offline settings in a fresh data dir, without the film reviews (tests that need them add them);
    parametrised by tests/engines.py's `both_settings`, memory on each engine in turn (Postgres: a new
    database, as `--database` gives)."""
    engine = getattr(request, "param", "sqlite")
    database = request.getfixturevalue("postgres_url") if engine == "postgres" else None
    return Settings(backend="echo", data_dir=tmp_path / "data", seeds_dir="", database=database)


class Chat:
    """A websocket client speaking the protocol, for tests."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame))

    async def recv(self) -> dict[str, Any]:
        return wire_frame(await self.ws.recv(decode=True))

    async def hello(self, conversation: str | None = None) -> dict[str, Any]:
        await self.send({"type": "hello", "conversation": conversation, "token": None})
        return await self.recv()

    async def turn(self, text: str) -> list[dict[str, Any]]:
        """Send a message and collect every frame up to `done` or `error`."""
        await self.send({"type": "user", "text": text})
        frames = []
        while True:
            frame = await self.recv()
            frames.append(frame)
            if frame["type"] in ("done", "error"):
                return frames


class Server:
    """A real uvicorn server on a free port, restartable on the same data dir."""

    def __init__(
        self, settings: Settings, backend: Backend, embedder: Embedder, voice: Voice | None = None
    ) -> None:
        self.settings = settings
        self.backend = backend
        self.embedder = embedder
        self.voice = voice  # tests/voice_fixtures.py shares one, so the speech models load once
        self.running: RunningServer | None = None

    async def start(self) -> Server:
        self.running = await RunningServer.start(
            self.settings, backend=self.backend, embedder=self.embedder, port=0, voice=self.voice
        )
        return self

    async def stop(self) -> None:
        if self.running is not None:
            await self.running.stop()
            self.running = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    @property
    def url(self) -> str:
        assert self.running is not None
        return self.running.url

    async def chat(self, conversation: str | None = None) -> Chat:
        assert self.running is not None
        chat = Chat(await connect(self.running.ws_url))
        if conversation != "no-hello":
            ready = await chat.hello(conversation)
            assert ready["type"] == "ready"
        return chat


@pytest.fixture
async def make_server(settings: Settings, embedder: Embedder) -> AsyncIterator[Any]:
    """Start servers on demand (default backend: echo); all are stopped after the test."""
    started: list[Server] = []

    async def make(
        backend: Backend | None = None, /, *, shared_voice: Voice | None = None, **overrides: Any
    ) -> Server:
        s = settings.model_copy(update=overrides) if overrides else settings
        server = await Server(s, backend or EchoBackend(), embedder, shared_voice).start()
        started.append(server)
        return server

    yield make
    for server in started:
        await server.stop()
