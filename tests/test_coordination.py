"""What servers sharing one database decide together goes through the database: exactly one wins a claim.

Run on both engines: on Postgres, the claims below race on separate connections, as replicas' would.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from memory import buckets, initiative
from memory.embedder import Embedder
from memory.pg.store import PgMemoryStore
from persona.clock import SetClock
from tests.engines import Engine, both_engines

DAY = "2026-11-29"


@both_engines
async def test_the_days_budget_of_unprompted_messages_holds_under_racing_claims(store: Engine) -> None:
    claims = await asyncio.gather(*(store.run_write(initiative.claim_send, "ana", DAY, 2) for _ in range(6)))
    sent = await store.run_read(initiative.sent_on, "ana", DAY)
    assert 1 <= sum(claims) == sent <= 2  # what went out is what was counted, never over budget
    assert await store.run_write(initiative.claim_send, "ana", DAY, sent) is False


@both_engines
async def test_one_check_in_per_silence_whoever_claims_it(store: Engine) -> None:
    silence = "2026-11-20T18:00:00+00:00"
    claims = await asyncio.gather(
        *(store.run_write(initiative.mark_checked_in, "ana", silence) for _ in range(5))
    )
    assert sum(claims) == 1
    assert await store.run_write(initiative.mark_checked_in, "ana", "2026-11-27T09:00:00+00:00") is True


async def test_learning_cut_short_is_finished_by_one_replica(postgres_url: str, embedder: Embedder) -> None:
    """Two servers starting on one database after a crash: each unfinished turn is learned by one of them,
    and a turn said a moment ago (its own server may still be learning it) by neither."""
    clock = SetClock(datetime(2026, 11, 29, 10, 0, tzinfo=UTC))
    a = await PgMemoryStore.open(postgres_url, embedder, clock=clock)
    b = await PgMemoryStore.open(postgres_url, embedder, clock=clock)
    try:
        old = [await a.log_turn("ana", "c1", "user", f"Message number {i}.") for i in range(6)]
        clock.advance(timedelta(minutes=5))
        fresh = await a.log_turn("ana", "c1", "user", "Said just now.")
        got_a, got_b = await asyncio.gather(a.unlearned_turns(), b.unlearned_turns())
        ids_a, ids_b = {t.id for t in got_a}, {t.id for t in got_b}
        assert not ids_a & ids_b
        assert ids_a | ids_b == {t.id for t in old}
        assert fresh.id not in ids_a | ids_b
        # A claim lapses: if the server that claimed them died, a later start takes them over.
        clock.advance(timedelta(minutes=11))
        assert {t.id for t in await b.unlearned_turns()} == {t.id for t in [*old, fresh]}
    finally:
        await a.aclose()
        await b.aclose()


@both_engines
async def test_a_shared_rate_limit_lets_no_more_than_the_burst_through_racing_servers(store: Engine) -> None:
    per_s, burst, now = 1 / 3600, 3.0, 1_800_000_000.0  # one token an hour: none comes back during the test
    waits = await asyncio.gather(*(store.run_write(buckets.take, "ana", now, per_s, burst) for _ in range(8)))
    went = sum(1 for w in waits if w == 0)
    assert 1 <= went <= 3  # never more than the burst (on SQLite, with one writer, exactly 3)
    assert all(0 < w <= 3600 for w in waits if w)
    # What was not taken is still there (a server that lost every race took nothing); once all are gone,
    # the next must wait about an hour.
    after = await store.run_write(buckets.take, "ana", now + 1, per_s, burst)
    assert after == 0 if went < 3 else after > 3000
    assert await store.run_write(buckets.take, "bob", now, per_s, burst) == 0  # per person
