"""Load with 1, 2 and 4 replicas on one Postgres: turns/s and latency of 100 websocket clients (echo).

Each configuration gets a fresh database (on the server at --database, or on one the pgserver wheel
starts for the run) and N `samantha serve --backend echo --database URL` processes on 127.0.0.1; the
clients (bench/load.py's, in --client-procs processes) are spread over the replicas round robin, as a
proxy balancing connections would, and chat with no pause (saturation: turns/s is the capacity), then at
a fixed pace. Everything runs on this one machine: replicas, Postgres and the clients share its cores.

Run: .venv/bin/python -m bench.load_replicas [--replicas 1 2 4] [--clients 100] [--turns 10]
Prints a table, writes bench/results/load_replicas.json and its section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from datetime import datetime
from typing import Any

from bench import engines
from bench.load import Server, chat_phase, raise_open_files
from bench.locomo_metrics import machine
from bench.report import RESULTS_DIR, record_section, write_json


class Replicas:
    """N servers seen as one by bench/load.py's chat phase: their URLs, and their processes' sums."""

    def __init__(self, servers: list[Server]) -> None:
        self.servers = servers
        self.ws_url = [s.ws_url for s in servers]

    def status(self) -> dict[str, float]:
        parts = [s.status() for s in self.servers]
        return {key: sum(p[key] for p in parts) for key in parts[0]}


async def one(count: int, url: str, args: argparse.Namespace) -> dict[str, Any]:
    """Start `count` replicas on the database at `url`, warm them, measure saturation and paced load."""
    # Every client is the one local user: allow them all their sockets (the cap is per replica).
    flags = ["--database", url, "--max-sockets-per-user", str(args.clients + 10)]
    servers = [Server("echo", flags) for _ in range(count)]
    try:
        await asyncio.gather(*(s.ready() for s in servers))
        pool = Replicas(servers)
        await chat_phase(pool, min(10 * count, args.clients), 3, 0.0, 1)  # imports, caches, first turns
        saturation = await chat_phase(pool, args.clients, args.turns, 0.0, args.client_procs)
        paced = await chat_phase(pool, args.clients, args.turns, args.period, args.client_procs)
        return {"replicas": count, "saturation": saturation, "paced": paced}
    finally:
        for s in servers:
            s.stop()


async def run(args: argparse.Namespace, postgres: engines.Postgres) -> list[dict[str, Any]]:
    out = []
    for count in args.replicas:
        async with postgres.database() as url:
            out.append(await one(count, url, args))
        r = out[-1]["saturation"]
        load = r["load_average_1min"]
        print(f"{count} replica(s): {r['turns_per_s']} turns/s, p99 {r['p99_ms']} ms, load {load}")
    return out


def table(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    base = results[0]["saturation"]["turns_per_s"]
    lines = [
        f"{args.clients} clients, {args.turns} turns each, echo backend; saturation (no pause) and paced"
        f" (a turn every {args.period} s each, offered {args.clients / args.period:.0f} turns/s).",
        "",
        "| replicas | turns/s (saturation) | vs 1 | p50 / p99 ms (saturation) | turns/s (paced)"
        " | p50 / p99 ms (paced) | errors | replicas' CPU ms per turn | 1-min load |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        s, p = r["saturation"], r["paced"]
        lines.append(
            f"| {r['replicas']} | {s['turns_per_s']} | {s['turns_per_s'] / base:.2f}x"
            f" | {s['p50_ms']} / {s['p99_ms']} | {p['turns_per_s']} | {p['p50_ms']} / {p['p99_ms']}"
            f" | {s['errors'] + p['errors']}"
            f" | {s['server_cpu_ms_per_turn']} | {s['load_average_1min']} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--period", type=float, default=2.0, help="seconds between a client's turns (paced)")
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument("--database", default=None, help="Postgres admin URL (default: a pgserver)")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    raise_open_files(4096)
    started = time.perf_counter()
    with engines.postgres(args.database) as postgres:
        results = asyncio.run(run(args, postgres))
    text = table(results, args)
    print(text)
    meta = {
        "date": datetime.now().astimezone().isoformat(timespec="minutes"),
        "machine": machine(),
        "wall_s": round(time.perf_counter() - started, 1),
        "args": " ".join(sys.argv[1:]),
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
    }
    write_json(RESULTS_DIR / "load_replicas.json", {"meta": meta, "results": results})
    if not args.no_record:
        record_section(
            "load_replicas",
            "## Load with 1, 2 and 4 replicas on one Postgres (bench/load_replicas.py)\n\n"
            f"`.venv/bin/python -m bench.load_replicas {meta['args']}`".replace(" `", "`")
            + f" ({meta['date']}, {meta['wall_s']} s). Machine: {meta['machine']}; Postgres 16.2 from the"
            " pgserver wheel on the same machine. Replicas, Postgres and the client processes all share"
            " the 2 cores, with other sessions' work besides.\n\n" + text,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
