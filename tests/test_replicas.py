"""Stateless replicas: several `samantha serve` processes on one Postgres database, on loopback.

Nothing a person needs lives in a server's memory: their account, conversations and memories are in the
database, so they can talk to one replica, then another, and lose nothing, even when a replica dies.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.process import ServerProcess, run_cli
from tests.test_faults import KILL_AFTER, run_burst_and_kill


@pytest.fixture
def replicas(tmp_path: Path, postgres_url: str) -> Iterator[Any]:
    """Start `samantha serve` processes on the test database (echo backend); all killed after the test."""
    made: list[ServerProcess] = []

    def make(*flags: str) -> ServerProcess:
        # Each has a data folder of its own, to show that none is needed: everything is in the database.
        folder = tmp_path / f"replica-{len(made)}"
        server = ServerProcess(
            folder, tmp_path / "logs", "--backend", "echo", "--database", postgres_url, *flags,
            env={"SAMANTHA_RATE_LIMIT": "0"},
        )  # fmt: skip
        made.append(server)
        return server

    yield make
    for server in made:
        server.ensure_dead()
        print(server.output())  # pytest shows this only for a failed test


async def eventually_remembered(server: ServerProcess, words: str, timeout: float = 30.0) -> None:
    """Wait until a memory holding `words` is listed (learning runs after the reply, in the background)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(words in m["text"] for m in await server.get("/api/memories")):
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"no memory holding {words!r} after {timeout:.0f} s")


async def test_told_on_one_replica_recalled_on_another(replicas: Any) -> None:
    a, b = await asyncio.gather(replicas().start(), replicas().start())
    chat = await a.chat("told-on-a")
    assert (await chat.turn("My dog is called Biscuit and he loves the beach."))[-1]["type"] == "done"
    await chat.close()
    await eventually_remembered(b, "Biscuit")

    other = await b.chat()  # a new conversation, on the other server
    frames = await other.turn("What is my dog's name?")
    recalled = frames[0]
    assert recalled["type"] == "recalled"
    assert any("Biscuit" in m["text"] for m in recalled["memories"]), recalled
    await other.close()

    # Switching replica in the middle of a conversation loses nothing: B continues A's conversation.
    again = await b.chat("told-on-a")
    assert (await again.turn("And my cat is called Pickle."))[-1]["type"] == "done"
    await again.close()
    turns = await a.get("/api/conversations/told-on-a/turns")
    said = [t["text"] for t in turns if t["role"] == "user"]
    assert said == ["My dog is called Biscuit and he loves the beach.", "And my cat is called Pickle."]


async def test_an_account_made_once_is_known_to_every_replica(replicas: Any, postgres_url: str) -> None:
    made = await asyncio.to_thread(run_cli, "user", "--database", postgres_url, "add", "ana")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1]
    a, b = await asyncio.gather(replicas().start(), replicas().start())
    bearer = {"Authorization": f"Bearer {token}"}
    for server in (a, b):
        async with httpx.AsyncClient(base_url=server.url) as http:
            assert (await http.get("/api/memories")).status_code == 401
            assert (await http.get("/api/memories", headers=bearer)).status_code == 200
    revoked = await asyncio.to_thread(run_cli, "user", "--database", postgres_url, "revoke", "ana")
    assert revoked.returncode == 0, revoked.stderr
    async with __import__("httpx").AsyncClient(base_url=b.url) as http:
        assert (
            await http.get("/api/memories", headers={"Authorization": f"Bearer {token}"})
        ).status_code == 401


async def test_a_replica_killed_mid_burst_loses_no_acknowledged_turn(replicas: Any) -> None:
    a, b = await asyncio.gather(replicas().start(), replicas().start())
    burst = await run_burst_and_kill(a)  # several clients talking to A; SIGKILL once 40 turns were answered
    assert len(burst.acked) >= KILL_AFTER
    acked_ids = [i for ack in burst.acked for i in (ack.user_turn_id, ack.turn_id)]
    assert len(acked_ids) == len(set(acked_ids))
    stored: list[int] = []
    for conversation, sent in burst.sent.items():  # read back through the replica still running
        turns = await b.get(f"/api/conversations/{conversation}/turns?limit=1000")
        stored += [t["id"] for t in turns]
        by_id = {t["id"]: t for t in turns}
        for ack in burst.acks(conversation):
            assert (by_id[ack.user_turn_id]["role"], by_id[ack.user_turn_id]["text"]) == ("user", ack.said)
            assert (by_id[ack.turn_id]["text"], by_id[ack.turn_id]["status"]) == (ack.reply, "complete")
        said = [t["text"] for t in turns if t["role"] == "user"]
        acks = len(burst.acks(conversation))
        assert said in (sent[:acks], sent[: acks + 1]), conversation  # once each, in order
    assert len(stored) == len(set(stored))
    # The conversations go on, on B.
    for conversation in burst.sent:
        client = await b.chat(conversation)
        assert (await client.turn("Still here?"))[-1]["type"] == "done"
        await client.close()


async def test_a_rate_limit_counts_a_persons_turns_on_every_replica(replicas: Any) -> None:
    # One turn a minute, in bursts of 10: ten turns in all, whichever replica takes them.
    a, b = await asyncio.gather(replicas("--rate-limit", "1").start(), replicas("--rate-limit", "1").start())
    on_a, on_b = await a.chat("limit-a"), await b.chat("limit-b")
    for i in range(10):
        frames = await (on_a if i % 2 else on_b).turn(f"Message {i} of the burst.")
        assert frames[-1]["type"] == "done", frames[-1]
    refused = await on_a.turn("One more on A.")
    assert refused[-1]["type"] == "error" and refused[-1]["code"] == "rate_limited", refused[-1]
    refused = await on_b.turn("One more on B.")
    assert refused[-1]["type"] == "error" and refused[-1]["code"] == "rate_limited", refused[-1]
    await on_a.close()
    await on_b.close()


def test_an_unreachable_database_is_refused_in_one_line_without_its_password() -> None:
    result = run_cli(
        "serve", "--backend", "echo", "--database", "postgresql://ana:hunter2@127.0.0.1:1/samantha"
    )
    assert result.returncode != 0
    assert "cannot connect to postgresql://ana@127.0.0.1:1/samantha" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout and "Traceback" not in result.stderr
    result = run_cli("serve", "--backend", "echo", "--database", "mysql://ana@db/samantha")
    assert result.returncode != 0 and "postgresql://" in result.stderr and "Traceback" not in result.stderr
