"""A crash between her reply and learning from it: the next start learns the person's words and her reply."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.config import Settings
from app.services import open_services
from memory.embedder import Embedder
from persona.clock import SetClock
from tests.engines import both_settings

USER = "ana"


@both_settings
async def test_the_next_start_remembers_her_complete_reply_but_not_a_cut_off_one(
    settings: Settings, embedder: Embedder
) -> None:
    # What a server that died right after replying leaves behind: both turns logged, nothing learned.
    clock = SetClock(datetime.now())
    before = await open_services(settings, embedder=embedder, clock=clock)
    try:
        log = before.store.log_turn
        await log(USER, "c1", "user", "Could you give me your mushroom risotto recipe?")
        await log(USER, "c1", "assistant", "Fry an onion in butter, toast arborio rice, add stock slowly.")
        await log(USER, "c2", "user", "And how do you make gazpacho?")
        await log(USER, "c2", "assistant", "Blend ripe tomatoes with cucum", status="interrupted")
        assert await before.store.memories(USER) == []
    finally:
        await before.aclose()

    # Restarted ten minutes later (on Postgres, past the grace a live replica has to finish its own).
    clock.advance(timedelta(minutes=10))
    after = await open_services(settings, embedder=embedder, clock=clock)
    try:
        await after.learner.settle(USER)
        remembered = [m.text for m in await after.store.memories(USER)]
        hers = [t for t in remembered if "assistant:" in t]
        assert any("arborio" in t for t in hers), remembered
        assert not any("cucum" in t for t in remembered), "a cut-off reply is not remembered"
        assert any("gazpacho" in t for t in remembered), "the person's question still is"
        recalled = await after.store.recall(USER, "what rice did your risotto recipe use?", k=3)
        assert any("arborio" in r.memory.text for r in recalled)
    finally:
        await after.aclose()
