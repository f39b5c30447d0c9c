"""create_app(settings): the FastAPI app; its lifespan loads the parts once and closes them once."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from app.backends import Backend
from app.config import Settings, shipped
from app.guard import Guard, split_list
from app.routes import api, initiative, ollama_api, openai_api, ws
from app.services import Services, open_services
from memory.accounts import AccountStore
from memory.embedder import Embedder
from memory.store import MemoryStore
from persona.clock import Clock

log = logging.getLogger(__name__)
WEB_DIR = shipped("web")


def create_app(
    settings: Settings,
    *,
    backend: Backend | None = None,
    memory: MemoryStore | None = None,
    embedder: Embedder | None = None,
    accounts: AccountStore | None = None,
    services: Services | None = None,
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
        opened.start_initiative()  # her unprompted messages (app/scheduler.py), stopped by aclose
        log.info("Samantha is loaded (backend %s, model %s)", opened.backend.name, opened.model_name)
        try:
            yield
        finally:
            if opened.scheduler is not None:
                await opened.scheduler.aclose()
                opened.scheduler = None
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
    )
    app.include_router(api.router)
    app.include_router(initiative.router)
    app.include_router(ws.router)
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
