"""create_app(settings): the FastAPI app; its lifespan loads the parts once and closes them once."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import FileResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.backends import Backend
from app.config import Settings, shipped
from app.guard import Guard, split_list
from app.routes import api, audio, initiative, ollama_api, openai_api, ws
from app.services import Services, open_services
from app.voice.service import Voice, voice_for
from memory.accounts import AccountStore
from memory.embedder import Embedder
from memory.store_base import MemoryEngine
from persona.clock import Clock

log = logging.getLogger(__name__)
WEB_DIR = shipped("web")


async def allow_every_method(request: Request, exc: Exception) -> Response:
    """FastAPI's own answer to an HTTP error, with a 405's Allow naming every method of the path."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405:
        path = request.url.path
        methods = {m for r in request.app.routes if isinstance(r, APIRoute) and r.path_regex.match(path)
                   for m in r.methods or ()}  # fmt: skip
        exc.headers = {**(exc.headers or {}), "Allow": ", ".join(sorted(methods))}
    return await http_exception_handler(request, exc)


def create_app(
    settings: Settings,
    *,
    backend: Backend | None = None,
    memory: MemoryEngine | None = None,
    embedder: Embedder | None = None,
    accounts: AccountStore | None = None,
    services: Services | None = None,
    voice: Voice | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    """Build the app. Nothing heavy happens here: models load in the lifespan, when the server starts.

    `services` already opened (by `samantha serve`, which reports a refusal before uvicorn starts) are
    borrowed: the caller closes them.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        opened = services or await open_services(
            settings, backend=backend, memory=memory, embedder=embedder, accounts=accounts, clock=clock
        )
        app.state.services = opened
        # Her voice and ears load when first used (docs/VOICE.md); this only says which ones.
        app.state.voice = voice or voice_for(
            settings.voice,
            opened.persona.speech_voice,
            listen=settings.listen == "on",
            threads=settings.voice_threads,
        )
        opened.start_initiative()  # her unprompted messages (app/scheduler.py), stopped by aclose
        log.info("Samantha is loaded (backend %s, model %s)", opened.backend.name, opened.model_name)
        try:
            yield
        finally:
            if opened.scheduler is not None:
                await opened.scheduler.aclose()
                opened.scheduler = None
            if voice is None:  # an injected voice (tests share one) is borrowed
                await app.state.voice.aclose()
            if services is None:
                await opened.aclose()

    app = FastAPI(
        title="Samantha",
        summary="A local-first companion with a long-term memory.",
        version="0.1.0",
        lifespan=lifespan,
    )
    # Outermost: a request from a foreign page or under a foreign name goes no further.
    app.add_middleware(
        Guard,
        server_host=settings.host,
        allowed_hosts=split_list(settings.allowed_hosts),
        allowed_origins=split_list(settings.allowed_origins),
        max_body_bytes=settings.max_request_bytes,
        body_limits={"/v1/audio/transcriptions": settings.max_audio_bytes},
    )
    # Starlette names only the first route's methods in a 405's Allow; a path served by two routes
    # (GET and PUT /api/initiative) must list both.
    app.add_exception_handler(StarletteHTTPException, allow_every_method)
    app.include_router(api.router)
    app.include_router(initiative.router)
    app.include_router(ws.router)
    app.include_router(audio.router)  # before openai_api's catch-all for unknown /v1 paths
    app.include_router(audio.page_router)
    app.include_router(openai_api.router)
    app.include_router(ollama_api.router)
    if (WEB_DIR / "index.html").is_file():
        # The page at "/" and its files under /static: a catch-all mount at "/" would answer every unknown
        # API path itself (404 for GET, 405 for the rest), hiding the API's own answers.
        app.mount("/static", StaticFiles(directory=WEB_DIR), name="web")

        @app.get("/", include_in_schema=False)
        async def page() -> FileResponse:
            return FileResponse(WEB_DIR / "index.html")

    return app
