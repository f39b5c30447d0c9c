"""A reply's first token with and without her background work, side by side in one run (issue 16).

Two real servers in one process share one llama.cpp model (the default, Qwen2.5-Coder-1.5B): a quiet one
(one person, no rounds) and a busy one whose scheduler goes over 1,000 people every `--interval` seconds
(their conversations quiet for an hour, so its first rounds write 1,000 journal entries by rules, then
look for follow-ups and check-ins). The same messages go to both, alternating which goes first, so the
load of the shared machine falls on both alike. First token as the `done` frame reports it; replies are
cut at `--max-tokens` (the first token does not depend on it) to keep the run short.

Run: .venv/bin/python -m bench.inner_life_ttft [--messages 4] [--interval 1]
Prints a table and writes bench/results/inner_life_ttft.json and its section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

from app.backends import create_backend
from app.config import Settings
from app.server import RunningServer
from bench.inner_life import CONVERSATION, START, USERS, populate
from bench.locomo_metrics import machine
from bench.report import RESULTS_DIR, commit, record_section, write_json
from memory.embedder import load_embedder
from memory.store import MemoryStore
from persona.clock import SetClock
from tests.conftest import Chat

MESSAGES = ["Hi, how are you?", *CONVERSATION, "What do you remember about Anna?"]


def load() -> str:
    """The load average (1, 5, 15 min)."""
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


async def first_token(chat: Chat, text: str) -> float:
    """Milliseconds to her first token for one message, as the server measured it."""
    frames = await chat.turn(text)
    if frames[-1]["type"] != "done":
        raise RuntimeError(f"the turn failed: {frames[-1]}")
    return float(frames[-1]["timings"]["first_token_ms"])


async def side_by_side(messages: int, interval: float, max_tokens: int) -> dict[str, Any]:
    """First-token times on the quiet and the busy server, message by message."""
    embedder = await asyncio.to_thread(load_embedder)
    base = Settings(backend="llamacpp", seeds_dir="", max_tokens=max_tokens)
    backend = await asyncio.to_thread(create_backend, base)
    times: dict[str, list[float]] = {"quiet": [], "busy": []}
    with tempfile.TemporaryDirectory() as quiet_dir, tempfile.TemporaryDirectory() as busy_dir:
        clock = SetClock(START + timedelta(hours=1))  # 1,000 conversations an hour quiet: journal due
        store = await MemoryStore.open(Path(busy_dir), embedder, clock=SetClock(START))
        await populate(store, SetClock(START))
        await store.aclose()
        quiet = await RunningServer.start(
            base.model_copy(update={"data_dir": Path(quiet_dir), "initiative_interval": 3600}),
            backend=backend,
            embedder=embedder,
            port=0,
            clock=clock,
        )
        try:
            chats = {"quiet": Chat(await connect(quiet.ws_url))}
            await chats["quiet"].hello("bench")
            await first_token(chats["quiet"], "Hello!")  # the model loads (not counted)
            busy = await RunningServer.start(
                base.model_copy(update={"data_dir": Path(busy_dir), "initiative_interval": interval}),
                backend=backend,
                embedder=embedder,
                port=0,
                clock=clock,
            )
            try:
                chats["busy"] = Chat(await connect(busy.ws_url))
                await chats["busy"].hello("bench")
                load_at_start, started = load(), time.perf_counter()
                for i, text in enumerate(MESSAGES[:messages]):
                    order = ("busy", "quiet") if i % 2 == 0 else ("quiet", "busy")
                    for label in order:
                        times[label].append(await first_token(chats[label], text))
                        print(f"  {label:<5} {times[label][-1]:8.0f} ms  {text}", flush=True)
                wall_s, load_at_end = time.perf_counter() - started, load()
                for chat in chats.values():
                    await chat.ws.close()
            finally:
                await busy.stop()
        finally:
            await quiet.stop()
            await backend.aclose()
        with sqlite3.connect(Path(busy_dir) / "samantha.db") as conn:
            written = conn.execute("SELECT COUNT(*) FROM memories WHERE kind = 'reflection'").fetchone()[0]
    return {
        "messages": messages,
        "interval_s": interval,
        "max_tokens": max_tokens,
        "users": USERS,
        "journal_entries_written_by_busy": written,
        "quiet_ms": [round(t) for t in times["quiet"]],
        "busy_ms": [round(t) for t in times["busy"]],
        "quiet_p50_ms": round(statistics.median(times["quiet"])),
        "busy_p50_ms": round(statistics.median(times["busy"])),
        "ratio_busy_over_quiet": round(
            statistics.median(times["busy"]) / statistics.median(times["quiet"]), 2
        ),
        # Each message's busy time over its quiet time (the two ran back to back): the load of the moment
        # cancels out of each pair.
        "paired_ratios": [round(b / q, 2) for b, q in zip(times["busy"], times["quiet"], strict=True)],
        "wall_s": round(wall_s),
        "load_start": load_at_start,
        "load_end": load_at_end,
    }


def table(r: dict[str, Any]) -> str:
    return "\n".join(
        [
            "| server | first token p50 | each message (ms, in order) |",
            "|---|---:|---|",
            f"| quiet (no rounds) | {r['quiet_p50_ms']} ms | {', '.join(map(str, r['quiet_ms']))} |",
            f"| busy (rounds every {r['interval_s']:g} s over {r['users']:,} people; "
            f"{r['journal_entries_written_by_busy']:,} journal entries written during the run) "
            f"| {r['busy_p50_ms']} ms | {', '.join(map(str, r['busy_ms']))} |",
            f"| busy / quiet | {r['ratio_busy_over_quiet']}x (ratio of the p50s); "
            f"{statistics.median(r['paired_ratios'])}x (median of each message's own ratio) "
            f"| {', '.join(map(str, r['paired_ratios']))} |",
        ]
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=4, help="Messages to each server.")
    parser.add_argument(
        "--interval", type=float, default=1.0, help="Seconds between the busy server's rounds."
    )
    parser.add_argument(
        "--max-tokens", type=int, default=24, help="Reply length cap (the first token is not)."
    )
    args = parser.parse_args()
    result = await side_by_side(args.messages, args.interval, args.max_tokens)
    result |= {"date": date.today().isoformat(), "commit": commit(), "machine": machine()}
    text = table(result)
    print(text)
    write_json(RESULTS_DIR / "inner_life_ttft.json", result)
    m = result["machine"]
    heading = (
        f"First token with and without her background work, side by side (issue 16; {result['date']}, commit "
        f"{result['commit']}, {m.get('nproc', '?')} cores {m.get('cpu', '')}, load average "
        f"{result['load_start']} at the start and {result['load_end']} at the end, {result['wall_s']} s; "
        f"`.venv/bin/python -m bench.inner_life_ttft --messages {result['messages']} "
        f"--interval {result['interval_s']:g}`; default model, replies cut at {result['max_tokens']} tokens):"
    )
    record_section("inner-life-ttft", f"{heading}\n\n{text}")


if __name__ == "__main__":
    asyncio.run(main())
