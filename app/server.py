"""Run the app under uvicorn: `samantha serve`, and an in-process server for scripts and tests."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import sys
from collections.abc import Iterator
from typing import Any

import uvicorn

from app.backends import Backend
from app.config import Settings
from app.connections import ConnectionLimits, limited_protocol
from app.main import create_app
from app.services import Services, open_services
from app.voice.service import Voice
from memory.embedder import Embedder
from memory.store_base import MemoryEngine
from persona.clock import Clock
from persona.errors import SamanthaError

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    """uvicorn, except that a stop signal (SIGTERM, Ctrl+C) ends `serve()` normally.

    After its graceful shutdown uvicorn re-raises the signal it caught; with the default handler back,
    that killed the process on the spot (exit -15) before `serve` could close the backend and the store.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            self._captured_signals.clear()


# Frames up to this size are read and answered with a `frame_too_large` error frame (app/routes/ws.py
# allows 64 KiB); only a frame beyond it closes the socket (1009) unread.
WS_MAX_BYTES = 4 << 20


def uvicorn_config(app: Any, settings: Settings, **options: Any) -> uvicorn.Config:
    """uvicorn's settings for this app: connection limits (app/connections.py) and frame sizes."""
    limits = ConnectionLimits(
        per_address=settings.max_connections_per_address, header_timeout=settings.header_timeout
    )
    return uvicorn.Config(
        app, http=limited_protocol(limits), ws_max_size=WS_MAX_BYTES, lifespan="on", **options
    )


class RunningServer:
    """A uvicorn server on a socket of its own, inside the current event loop."""

    def __init__(
        self,
        server: uvicorn.Server,
        task: asyncio.Task[None],
        host: str,
        port: int,
        services: Services | None = None,
    ) -> None:
        self._server = server
        self._services = services  # the app's, once its lifespan loaded them (for initiative_round)
        self._task = task
        self.host = host
        self.port = port

    @property
    def url(self) -> str:
        """The http:// base URL."""
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        """The chat socket's URL."""
        return f"ws://{self.host}:{self.port}/ws"

    @classmethod
    async def start(
        cls,
        settings: Settings,
        *,
        backend: Backend | None = None,
        memory: MemoryEngine | None = None,
        embedder: Embedder | None = None,
        port: int | None = None,
        voice: Voice | None = None,
        clock: Clock | None = None,
    ) -> RunningServer:
        """Start serving and return once the lifespan has loaded everything (port 0: any free port)."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((settings.host, settings.port if port is None else port))
        app = create_app(
            settings, backend=backend, memory=memory, embedder=embedder, voice=voice, clock=clock
        )
        config = uvicorn_config(app, settings, log_level="warning")
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            if task.done():
                sock.close()
                task.result()
                raise RuntimeError("the server stopped during start-up")
            await asyncio.sleep(0.02)
        return cls(server, task, settings.host, sock.getsockname()[1], app.state.services)

    async def initiative_round(self) -> int:
        """One round of her initiative now (a script moved the clock); how many messages went out. What
        the people connected said is learned first, so a good night asked for a moment ago counts."""
        services = self._services
        if services is None:
            return 0
        for user in list(services.outbox.open):
            await services.learner.settle(user)
        return 0 if services.scheduler is None else int(await services.scheduler.round())

    async def stop(self) -> None:
        """Shut down gracefully (the lifespan closes what it opened)."""
        self._server.should_exit = True
        await self._task


async def serve(settings: Settings) -> int:
    """`samantha serve`: load everything (refusing clearly on bad files), then serve until stopped."""
    try:
        services = await open_services(settings)
    except SamanthaError as exc:  # a bad persona, database, passphrase, model, or an exposed empty server
        print(f"samantha: {exc}", file=sys.stderr)
        return 2
    app = create_app(settings, services=services)
    # No per-message compression: frames are a few words each, and deflating every delta cost a quarter
    # of the event loop's time per turn (bench/RESULTS.md, load profile) to save bytes nobody waits for.
    config = uvicorn_config(
        app, settings, host=settings.host, port=settings.port, ws_per_message_deflate=False, log_level="info"
    )
    server = _Server(config)

    async def announce() -> None:
        while not server.started and not server.should_exit:
            await asyncio.sleep(0.05)
        if server.started:
            print(
                f"\nSamantha is ready: open http://{settings.host}:{settings.port}  (Ctrl+C stops her)\n",
                flush=True,
            )

    announcer = asyncio.create_task(announce())
    try:
        await server.serve()
    finally:
        announcer.cancel()
        await services.aclose()
    return 0 if server.started else 1
