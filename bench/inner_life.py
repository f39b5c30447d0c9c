"""Her inner life off the hot path (issue 16): the scheduler's round with 1,000 people, her journal
written by rules and by the default model, and a reply's first token with and without background work.

1. Scheduler: 1,000 people, each with a conversation of four turns and a socket open (an in-memory sink
   records what would be sent); one in ten has a plan whose day has passed. A round is timed three ways:
   with nothing due, with the follow-ups due (they go out once), and with her journal writing up 1,000
   quiet conversations by rules (the first round after they went quiet).
2. Journal by the default model (llama.cpp, Qwen2.5-Coder-1.5B): one entry from a 12-turn conversation,
   timed end to end (the model holds its lock for this long, so the server writes with it only when
   nobody is connected).
3. First token: the same five messages over a real socket with the default model, once on a quiet server
   and once while the scheduler runs every 50 ms over the 1,000 people (rounds, journal catch-ups).

Run: .venv/bin/python -m bench.inner_life [--skip-model]
Prints a table, writes bench/results/inner_life.json and its section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from app.journal import by_model, write_due
from app.protocol import Proactive
from app.scheduler import InitiativeConfig, Outbox, Scheduler
from bench.locomo_metrics import machine
from bench.report import RESULTS_DIR, commit, record_section, write_json
from memory import plans
from memory.embedder import Embedder, load_embedder
from memory.store import MemoryStore
from memory.write import NewMemory
from persona.clock import SetClock

USERS = 1000
START = datetime(2026, 11, 30, 10, 0)
CONVERSATION = [
    "My sister is called Anna and she lives in Oslo.",
    "I started a pottery class, it's harder than it looks.",
    "My interview is on Wednesday and I'm nervous.",
    "Anyway, how was your day?",
]


async def populate(store: MemoryStore, clock: SetClock) -> None:
    """1,000 people with a conversation each; every tenth with a plan due on Wednesday."""
    for n in range(USERS):
        user = f"u{n:04d}"
        for i, text in enumerate(CONVERSATION):
            await store.log_turn(user, "c1", "user", text)
            await store.log_turn(user, "c1", "assistant", f"reply {i}")
        if n % 10 == 0:
            [memory] = await store.remember_batch(
                user, [NewMemory("[2026-11-30] user: My interview is on Wednesday", "plan", 0.7)]
            )
            assert memory is not None
            await store.run_write(
                plans.set_due, memory.id, date(2026, 12, 2), "How did Wednesday's interview go?"
            )


async def timed(work: Any, repeat: int) -> list[float]:
    """Milliseconds of each of `repeat` awaits of `work()`."""
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        await work()
        out.append((time.perf_counter() - started) * 1000)
    return out


async def scheduler_cost(embedder: Embedder) -> dict[str, Any]:
    """The round's cost with 1,000 people connected."""
    clock = SetClock(START)
    with tempfile.TemporaryDirectory() as tmp:
        store = await MemoryStore.open(Path(tmp), embedder, clock=clock)
        try:
            built = time.perf_counter()
            await populate(store, clock)
            built_s = time.perf_counter() - built
            outbox, sent = Outbox(), []

            async def sink(frame: Proactive) -> None:
                sent.append(frame)

            for n in range(USERS):
                outbox.add(f"u{n:04d}", n, "c1", sink)
            config = InitiativeConfig(per_day=1000)
            scheduler = Scheduler(store, outbox, config)
            clock.set(START + timedelta(minutes=5))
            idle = await timed(scheduler.round, 5)
            clock.set(START + timedelta(hours=1))  # every conversation quiet for an hour: her journal
            journal_ms = await timed(lambda: write_due(store, None, timedelta(minutes=30)), 1)
            entries = await store.count()
            clock.set(datetime(2026, 12, 3, 10, 0))  # the plans are due
            due = await timed(scheduler.round, 1)
            follow_ups = len(sent)
            after = await timed(scheduler.round, 3)  # asked once: nothing left
        finally:
            await store.aclose()
    return {
        "users": USERS,
        "build_s": round(built_s, 1),
        "round_nothing_due_ms_p50": round(statistics.median(idle), 1),
        "round_with_follow_ups_ms": round(due[0], 1),
        "follow_ups_sent": follow_ups,
        "round_after_ms_p50": round(statistics.median(after), 1),
        "journal_rules_1000_ms": round(journal_ms[0], 1),
        "journal_rules_per_entry_ms": round(journal_ms[0] / max(1, entries.get("reflection", 1)), 2),
        "journal_entries": entries.get("reflection", 0),
    }


async def journal_by_model() -> dict[str, Any]:
    """One journal entry from the default model, timed (three times)."""
    from app.backends import create_backend
    from app.config import Settings

    backend = await asyncio.to_thread(create_backend, Settings(backend="llamacpp"))
    transcript = "\n".join(
        f"{'They' if i % 2 == 0 else 'You'}: {line}"
        for i, line in enumerate(
            [
                CONVERSATION[0],
                "Oslo! Do you visit her often?",
                CONVERSATION[1],
                "What are you making first?",
                "A bowl, it keeps collapsing.",
                "Collapsing bowls are how everyone starts.",
                CONVERSATION[2],
                "What's the job?",
                "A design studio in town.",
                "You'll do well. What worries you most?",
                "Talking about my portfolio.",
                "Then let's practise that.",
            ]
        )
    )
    times, texts = [], []
    try:
        for _ in range(3):
            started = time.perf_counter()
            text = await by_model(backend, transcript)
            times.append(time.perf_counter() - started)
            texts.append(text)
    finally:
        await backend.aclose()
    return {
        "model": backend.model_name,
        "seconds": [round(t, 1) for t in times],
        "p50_s": round(statistics.median(times), 1),
        "kept": sum(t is not None for t in texts),
        "example": next((t for t in texts if t), None),
    }


async def first_token(embedder: Embedder) -> dict[str, Any]:
    """A reply's first token over a real socket, on a quiet server and beside a busy scheduler."""
    from websockets.asyncio.client import connect

    from app.backends import create_backend
    from app.config import Settings
    from app.server import RunningServer
    from tests.conftest import Chat

    backend = await asyncio.to_thread(create_backend, Settings(backend="llamacpp"))
    results: dict[str, Any] = {}
    try:
        for label, busy in (("quiet", False), ("busy scheduler", True)):
            clock = SetClock(START)
            with tempfile.TemporaryDirectory() as tmp:
                settings = Settings(
                    backend="llamacpp",
                    data_dir=Path(tmp),
                    seeds_dir="",
                    initiative_interval=0.05 if busy else 3600,
                )
                if busy:  # 1,000 people's conversations to go over, quiet and due for her journal
                    store = await MemoryStore.open(Path(tmp), embedder, clock=clock)
                    await populate(store, clock)
                    await store.aclose()
                    clock.set(START + timedelta(hours=1))
                server = await RunningServer.start(
                    settings, backend=backend, embedder=embedder, port=0, clock=clock
                )
                try:
                    chat = Chat(await connect(server.ws_url))
                    await chat.hello("bench")
                    ttft = []
                    for text in ["Hi, how are you?", *CONVERSATION, "What do you remember about Anna?"]:
                        frames = await chat.turn(text)
                        ttft.append(frames[-1].get("timings", {}).get("first_token_ms", float("nan")))
                    await chat.ws.close()
                finally:
                    await server.stop()
            results[label] = {"first_token_ms": ttft, "p50_ms": round(statistics.median(ttft), 0)}
    finally:
        await backend.aclose()
    return results


def _run_of(part: dict[str, Any]) -> str:
    """Where a number kept from an earlier full run came from."""
    return f" (run of {part['from_run']}, {part['commit']})" if "from_run" in part else ""


def table(result: dict[str, Any]) -> str:
    s = result["scheduler"]
    lines = [
        f"Scheduler with {s['users']:,} people connected (each with a 4-message conversation; "
        "1 in 10 with a plan due):",
        "",
        "| measure | value |",
        "|---|---:|",
        f"| round, nothing due (p50 of 5) | {s['round_nothing_due_ms_p50']} ms |",
        f"| round sending {s['follow_ups_sent']} follow-ups (stored, pushed once) "
        f"| {s['round_with_follow_ups_ms']} ms |",
        f"| round after they went out (p50 of 3) | {s['round_after_ms_p50']} ms |",
        f"| journal by rules for {s['journal_entries']:,} quiet conversations "
        f"| {s['journal_rules_1000_ms']} ms "
        f"({s['journal_rules_per_entry_ms']} ms an entry, embedding included) |",
    ]
    if "journal_model" in result:
        j = result["journal_model"]
        lines += [
            f"| journal entry by the default model ({j['model']}), p50 of 3{_run_of(j)} | {j['p50_s']} s "
            f"({', '.join(map(str, j['seconds']))}; {j['kept']}/3 kept, the rest fall back to rules) |"
        ]
    if "first_token" in result:
        for label, r in result["first_token"].items():
            if label in ("from_run", "commit"):
                continue
            where = _run_of(result["first_token"])
            lines.append(
                f"| first token p50 over a socket, {label} (6 messages){where} | {r['p50_ms']:.0f} ms |"
            )
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-model", action="store_true", help="Only the scheduler (no llama.cpp).")
    args = parser.parse_args()
    embedder = await asyncio.to_thread(load_embedder)
    result: dict[str, Any] = {"date": date.today().isoformat(), "commit": commit(), "machine": machine()}
    result["scheduler"] = await scheduler_cost(embedder)
    if not args.skip_model:
        result["journal_model"] = await journal_by_model()
        result["first_token"] = await first_token(embedder)
    elif (RESULTS_DIR / "inner_life.json").exists():  # keep the model's numbers from the last full run
        earlier = json.loads((RESULTS_DIR / "inner_life.json").read_text())
        for part in ("journal_model", "first_token"):
            if part in earlier:
                result[part] = earlier[part] | {
                    "from_run": earlier.get("date"),
                    "commit": earlier.get("commit"),
                }
    text = table(result)
    print(text)
    write_json(RESULTS_DIR / "inner_life.json", result)
    heading = (
        f"## Her inner life off the hot path (issue 16; {result['date']}, commit {result['commit']}, "
        f"{result['machine'].get('nproc', '?')} cores {result['machine'].get('cpu', '')}; "
        "`.venv/bin/python -m bench.inner_life`)"
    )
    record_section("inner-life", f"{heading}\n\n{text}")


if __name__ == "__main__":
    asyncio.run(main())
