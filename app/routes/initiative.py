"""Her inner life, per person: whether she may message first (GET and PUT /api/initiative), her mood."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from app.presence import current_mood, mood_out
from app.protocol import MoodOut
from app.routes.deps import ServicesDep, UserDep
from memory import initiative

router = APIRouter()


class InitiativeState(BaseModel):
    """Whether she may send this person unprompted messages, and the server's limits on them."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = Field(description="False: she never messages first (greetings still know the time).")
    per_day: int | None = Field(None, description="At most this many a day (set by the server).")
    quiet_hours: str | None = Field(None, description="Local hours she stays quiet (set by the server).")


class InitiativeChoice(BaseModel):
    """The person's choice."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool


async def _state(services: ServicesDep, user: str) -> InitiativeState:
    off = await services.store.run_read(initiative.is_off, user)
    s = services.settings
    return InitiativeState(
        enabled=s.initiative and not off, per_day=s.initiative_per_day, quiet_hours=s.quiet_hours
    )


@router.get("/api/mood", tags=["initiative"])
async def get_mood(services: ServicesDep, user: UserDep) -> MoodOut | None:
    """How she feels with you now and why (null: simply calm); it fades with time."""
    return mood_out(await current_mood(services.store, user))


@router.get("/api/initiative", tags=["initiative"])
async def get_initiative(services: ServicesDep, user: UserDep) -> InitiativeState:
    """Whether she may message you first."""
    return await _state(services, user)


@router.put("/api/initiative", tags=["initiative"])
async def set_initiative(choice: InitiativeChoice, services: ServicesDep, user: UserDep) -> InitiativeState:
    """Let her message you first, or not (your choice; the server's switch still applies)."""
    await services.store.run_write(initiative.set_off, user, not choice.enabled)
    return await _state(services, user)
