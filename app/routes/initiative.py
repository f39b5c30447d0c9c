"""Her inner life, per person: whether she may message first (GET and PUT /api/initiative), her mood."""

from __future__ import annotations

from datetime import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path
from pydantic import BaseModel, ConfigDict, Field

from app.presence import current_mood, mood_out
from app.protocol import MoodOut
from app.routes.deps import ServicesDep, UserDep
from memory import goodnight, initiative, selfmodel
from memory.db import now_iso

router = APIRouter()


class InitiativeState(BaseModel):
    """Whether she may send this person unprompted messages, and the server's limits on them."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = Field(description="False: she never messages first (greetings still know the time).")
    per_day: int | None = Field(None, description="At most this many a day (set by the server).")
    quiet_hours: str | None = Field(None, description="Local hours she stays quiet (set by the server).")
    good_night: str | None = Field(
        None,
        description='The good night you asked for (HH:MM), in words ("say good night at 23:00") or here.',
    )
    good_night_daily: bool | None = Field(None, description="Every night (true) or only tonight (false).")
    good_night_at: str | None = Field(
        None, description="When she says it: as asked, or a quarter of an hour before quiet hours begin."
    )


class InitiativeChoice(BaseModel):
    """The person's choice."""

    model_config = ConfigDict(extra="forbid", strict=True)  # `0` or "no" is not a yes/no answer
    enabled: bool | None = Field(None, description="Let her message you first (true) or not (false).")
    good_night: str | None = Field(
        None,
        pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
        description="A good night every night at this local time (HH:MM); null: no more good nights.",
    )


async def _state(services: ServicesDep, user: str) -> InitiativeState:
    off = await services.store.run_read(initiative.is_off, user)
    wish = await services.store.run_read(goodnight.wish, user)
    s = services.settings
    config = services.initiative()
    return InitiativeState(
        enabled=s.initiative and not off,
        per_day=s.initiative_per_day,
        quiet_hours=s.quiet_hours,
        good_night=f"{wish.at:%H:%M}" if wish else None,
        good_night_daily=wish.daily if wish else None,
        good_night_at=f"{goodnight.effective(wish.at, (config.quiet_from, config.quiet_to)):%H:%M}"
        if wish
        else None,
    )


@router.get("/api/mood", tags=["initiative"])
async def get_mood(services: ServicesDep, user: UserDep) -> MoodOut | None:
    """How she feels with you now and why (null: simply calm); it fades with time."""
    return mood_out(await current_mood(services.store, user))


@router.get("/api/initiative", tags=["initiative"])
async def get_initiative(services: ServicesDep, user: UserDep) -> InitiativeState:
    """Whether she may message you first."""
    return await _state(services, user)


UNREADABLE: dict[int | str, dict[str, Any]] = {400: {"description": "The body is not readable JSON."}}


@router.put("/api/initiative", tags=["initiative"], responses=UNREADABLE)
async def set_initiative(choice: InitiativeChoice, services: ServicesDep, user: UserDep) -> InitiativeState:
    """Let her message you first, or not, and ask for a good night (your choice; the server's switch,
    quiet hours and the day's budget still apply). A field left out is left as it was."""
    if choice.enabled is not None:
        await services.store.run_write(initiative.set_off, user, not choice.enabled)
    if "good_night" in choice.model_fields_set:
        wish = goodnight.Wish(time.fromisoformat(choice.good_night)) if choice.good_night else None
        await services.store.run_write(goodnight.set_wish, user, wish)
    return await _state(services, user)


class SelfNoteOut(BaseModel):
    """A change of her self-model: what, said in her voice, the journal entries behind it, and its state."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: str
    text: str
    narration: str
    sources: list[int]
    status: str
    created_at: str
    decided_at: str | None


class SelfDecision(BaseModel):
    """The person's call on one change."""

    model_config = ConfigDict(extra="forbid")
    status: Literal["kept", "undone"]


@router.get("/api/self", tags=["initiative"])
async def self_model(services: ServicesDep, user: UserDep) -> list[SelfNoteOut]:
    """Who she is becoming with you: every change, newest first (proposed, kept, undone)."""
    return [SelfNoteOut.model_validate(n) for n in await services.store.run_read(selfmodel.listed, user)]


@router.post(
    "/api/self/{note_id}",
    tags=["initiative"],
    responses={**UNREADABLE, 404: {"description": "No such change."}},
)
async def decide(
    note_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    decision: SelfDecision,
    services: ServicesDep,
    user: UserDep,
) -> SelfNoteOut:
    """Keep one of her changes (in her prompt from the next conversation), or undo it (history keeps it)."""
    stamp = now_iso(services.store.clock)
    note = await services.store.run_write(selfmodel.decide, user, note_id, decision.status, stamp)
    if note is None:
        raise HTTPException(status_code=404, detail=f"no change {note_id}")
    return SelfNoteOut.model_validate(note)
