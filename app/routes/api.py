"""Small JSON endpoints: health, persona, conversations, memories (list, forget, export)."""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from app.auth import AuthError, resolve_user
from app.routes.deps import ServicesDep, UserDep, bearer_token
from memory.models import SHARED, Kind, MemoryError_

router = APIRouter()


class Health(BaseModel):
    status: str
    backend: str
    model: str
    embedder: str
    memories: int | None = None  # yours (and the shared film passages); only with a valid token
    memories_by_kind: dict[str, int] | None = None


class PersonaCard(BaseModel):
    name: str
    tagline: str
    system: str
    greeting: str
    backend: str
    model: str


class _FromMemory(BaseModel):
    """A response read straight from memory's own values (memory/models.py)."""

    model_config = ConfigDict(from_attributes=True)


class ConversationOut(_FromMemory):
    id: str
    title: str
    created_at: str
    turns: int


class TurnOut(_FromMemory):
    id: int
    role: str
    text: str
    created_at: str
    status: str


class MemoryOut(_FromMemory):
    id: int
    kind: str
    text: str
    created_at: str
    importance: float
    source_turns: list[int] = Field(validation_alias="source")  # the turns it was learned from
    valid_to: str | None


class Problem(BaseModel):
    detail: str


class Forgotten(BaseModel):
    forgotten: int


@router.get("/health", tags=["server"])
async def health(request: Request, services: ServicesDep) -> Health:
    """Which backend and embedder are loaded; with a valid token (or none needed), your memory counts."""
    loaded = Health(
        status="ok",
        backend=services.backend.name,
        model=services.model_name,
        embedder=services.store.embedder.name,
    )
    try:
        user = await resolve_user(services, bearer_token(request))
    except AuthError:
        return loaded  # how much anyone has told her is nobody else's business
    counts = Counter(await services.store.count(user)) + Counter(await services.store.count(SHARED))
    loaded.memories, loaded.memories_by_kind = sum(counts.values()), dict(counts)
    return loaded


@router.get("/api/persona", tags=["persona"])
async def persona(services: ServicesDep) -> PersonaCard:
    """Her persona card and the model she runs on."""
    p = services.persona
    return PersonaCard(
        name=p.name,
        tagline=p.tagline,
        system=p.system.strip(),
        greeting=p.greeting,
        backend=services.backend.name,
        model=services.model_name,
    )


@router.get("/api/conversations", tags=["conversations"])
async def conversations(services: ServicesDep, user: UserDep) -> list[ConversationOut]:
    """Your conversations, newest first, each titled by its first message."""
    return [ConversationOut.model_validate(c) for c in await services.store.conversations(user)]


@router.get("/api/conversations/{conversation}/turns", tags=["conversations"])
async def turns(
    conversation: str, services: ServicesDep, user: UserDep, limit: int = Query(200, ge=1, le=1000)
) -> list[TurnOut]:
    """The last messages of one of your conversations, oldest first."""
    history = await services.store.history(user, conversation, limit)
    return [TurnOut.model_validate(t) for t in history]


@router.get("/api/memories", tags=["memories"])
async def memories(
    services: ServicesDep,
    user: UserDep,
    q: str | None = Query(None, max_length=500, description="Only memories containing these words."),
    kind: Kind | None = None,
    limit: int = Query(200, ge=1, le=1000),
) -> list[MemoryOut]:
    """What she remembers about you, newest first."""
    found = await services.store.memories(user, query=q, kind=kind, limit=limit)
    return [MemoryOut.model_validate(m) for m in found]


@router.delete(
    "/api/memories/{memory_id}",
    tags=["memories"],
    responses={
        403: {"model": Problem, "description": "A shared film-review passage: read-only."},
        404: {"model": Problem, "description": "You have no memory with this id."},
    },
)
async def forget(
    memory_id: Annotated[int, Path(ge=1, le=2**63 - 1)], services: ServicesDep, user: UserDep
) -> Forgotten:
    """Forget one memory and everything derived from it; it is gone from recall at once."""
    try:
        count = await services.store.forget(user, memory_id)
    except MemoryError_ as exc:
        raise HTTPException(status_code=403, detail=str(exc)) from exc
    if count == 0:
        raise HTTPException(status_code=404, detail=f"no memory {memory_id}")
    return Forgotten(forgotten=count)


@router.get("/api/export", tags=["memories"])
async def export(services: ServicesDep, user: UserDep) -> dict[str, Any]:
    """Everything stored about you, as JSON."""
    return await services.store.export(user)
