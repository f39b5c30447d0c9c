"""What servers sharing one database decide together goes through the database: exactly one wins a claim.

Run on both engines: on Postgres, the claims below race on separate connections, as replicas' would.
"""

from __future__ import annotations

import asyncio

from memory import initiative
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
