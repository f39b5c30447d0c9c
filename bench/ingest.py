"""Ingest: memories written per second through the real write path, and first-start seeding time.

Real MiniLM embeddings of real sentences (LoCoMo turns, each used once so the embedder's cache of recent
texts never helps), with the product's embedder (ONNX Runtime; bench/embed.py compares it with torch).
Compared: one `remember` call per memory, and `remember_batch` with 1, 8, 32 and 128 memories per call
(one embedding batch and one transaction each). Seeding: `ingest_seeds` on the reviews in seeds/ into a
fresh data dir, as on a first start.

Run: .venv/bin/python -m bench.ingest [--count 256] [--repeats 3] [--postgres [--database URL]]
Prints a table, writes bench/results/ingest.json and rewrites its section of bench/RESULTS.md.
`--postgres` measures the write path on the Postgres engine too (bench/engines.py), interleaved with the
embedded one run for run, and records that side by side in a section of its own (ingest_postgres.json).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from bench import engines
from bench.locomo_metrics import machine
from bench.report import RESULTS_DIR, record_section, write_json
from memory.embedder import Embedder, load_embedder, open_embedder
from memory.recall import RecallConfig
from memory.seeds import ingest_seeds
from memory.store import MemoryStore
from memory.write import NewMemory

RESULT = RESULTS_DIR / "ingest.json"
SEEDS = Path(__file__).resolve().parents[1] / "seeds"
BATCHES = (1, 8, 32, 128)


class TimedEmbedder:
    """The real embedder, with the time spent in it added up."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.seconds = 0.0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        started = time.perf_counter()
        try:
            return self.inner.embed(texts)
        finally:
            self.seconds += time.perf_counter() - started


def sentences() -> Iterator[str]:
    """Distinct things people said (LoCoMo turns), shuffled; never the same text twice."""
    from bench import locomo_data

    try:
        said = list(dict.fromkeys(locomo_data.said_text(t) for c in locomo_data.load() for t in c.turns))
    except locomo_data.DataError as exc:
        raise SystemExit(f"needs ../shared/bench/locomo10.json: {exc}") from exc
    rng = np.random.default_rng(1)
    return iter([said[i] for i in rng.permutation(len(said))])


Engine = engines.Embedded | engines.Postgres


async def write_rate(
    embedder: Embedder, texts: list[str], batch: int | None, engine: Engine | None = None
) -> dict[str, float]:
    """Memories per second into a fresh store (of `engine`, the embedded one by default): `remember` one
    by one (batch None) or `remember_batch`."""
    timed = TimedEmbedder(embedder)
    async with (engine or engines.Embedded()).fresh(timed, RecallConfig()) as store:
        started = time.perf_counter()
        if batch is None:
            for text in texts:
                await store.remember("bench", text, kind="turn")
        else:
            for s in range(0, len(texts), batch):
                await store.remember_batch("bench", [NewMemory(t, "turn") for t in texts[s : s + batch]])
        seconds = time.perf_counter() - started
        stored = sum((await store.count("bench")).values())
    return {
        "per_s": len(texts) / seconds,
        "embed_share": timed.seconds / seconds,
        "ms_per_memory": seconds * 1000 / len(texts),
        "stored": stored,
    }


async def seeding(repeats: int) -> dict[str, float]:
    """First start: open a fresh store and ingest the film reviews; median seconds of `repeats` runs, each
    with a newly loaded embedder (loading not timed) so none finds the passages in its cache."""
    runs, passages = [], 0
    for _ in range(repeats):
        embedder = open_embedder()
        embedder.embed(["warm up the model once"])
        data = Path(tempfile.mkdtemp(prefix="samantha-seed-"))
        started = time.perf_counter()
        store = await MemoryStore.open(data, embedder)
        passages = await ingest_seeds(store, SEEDS, progress=False)
        runs.append(time.perf_counter() - started)
        await store.aclose()
        shutil.rmtree(data, ignore_errors=True)
    return {
        "passages": passages,
        "reviews": len(list(SEEDS.glob("*.txt"))),
        "seconds_median": round(statistics.median(runs), 2),
        "seconds_runs": [round(r, 2) for r in runs],
    }


def table(result: dict[str, Any]) -> str:
    """Markdown tables of the three measurements."""
    lines = [
        f"Write path, {result['count']} memories per run, median of {result['repeats']} runs"
        f" (fresh store, de-duplication on, real MiniLM embeddings, {result['embedder']}):",
        "",
        "| how | memories/s | ms per memory | share of time embedding | vs one by one |",
        "|---|---:|---:|---:|---:|",
    ]
    base = result["write"]["remember (one call each)"]["per_s"]
    for how, r in result["write"].items():
        lines.append(
            f"| {how} | {r['per_s']} | {r['ms_per_memory']} | {round(100 * r['embed_share'])}% |"
            f" {round(r['per_s'] / base, 2)}x |"
        )
    s = result["seeding"]
    lines += [
        "",
        f"First-start seeding: {s['passages']} passages from {s['reviews']} reviews in"
        f" {s['seconds_median']} s (median of {len(s['seconds_runs'])}: {s['seconds_runs']}), store open"
        " included.",
    ]
    return "\n".join(lines)


def _medians(results: list[dict[str, float]]) -> dict[str, float]:
    return {
        key: round(statistics.median(r[key] for r in results), 3 if key == "embed_share" else 1)
        for key in ("per_s", "ms_per_memory", "embed_share")
    }


async def engines_side_by_side(count: int, repeats: int, postgres: engines.Postgres) -> dict[str, Any]:
    """The write path on both engines, run for run interleaved (same load, same mix of texts): medians."""
    embedder = load_embedder()
    texts = sentences()
    embedder.embed(["warm up the model once"])
    ways: list[tuple[str, int | None]] = [
        ("remember (one call each)", None),
        ("remember_batch, 32 per call", 32),
    ]
    runs: dict[str, dict[str, list[dict[str, float]]]] = {"sqlite": {}, "postgres": {}}
    for _ in range(repeats):
        for how, batch in ways:
            # Texts never repeat (the embedder keeps recent ones), so each run gets new ones of the same mix.
            lite = await write_rate(embedder, [next(texts) for _ in range(count)], batch)
            pg = await write_rate(embedder, [next(texts) for _ in range(count)], batch, postgres)
            runs["sqlite"].setdefault(how, []).append(lite)
            runs["postgres"].setdefault(how, []).append(pg)
    write = {engine: {how: _medians(r) for how, r in by_how.items()} for engine, by_how in runs.items()}
    return {
        "count": count,
        "repeats": repeats,
        "write": write,
        "embedder": type(embedder).__name__,
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine(),
    }


def engines_table(result: dict[str, Any]) -> str:
    """Markdown: memories per second on each engine, and Postgres' rate as a share of SQLite's."""
    lines = [
        f"Write path, {result['count']} memories per run, median of {result['repeats']} runs interleaved"
        f" engine by engine (fresh store or database, de-duplication on, real MiniLM embeddings,"
        f" {result['embedder']}):",
        "",
        "| how | SQLite memories/s | Postgres memories/s | Postgres / SQLite"
        " | ms per memory (SQLite, Postgres) | share embedding (SQLite, Postgres) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for how, lite in result["write"]["sqlite"].items():
        pg = result["write"]["postgres"][how]
        lines.append(
            f"| {how} | {lite['per_s']} | {pg['per_s']} | {pg['per_s'] / lite['per_s']:.2f}x |"
            f" {lite['ms_per_memory']}, {pg['ms_per_memory']} |"
            f" {round(100 * lite['embed_share'])}%, {round(100 * pg['embed_share'])}% |"
        )
    return "\n".join(lines)


async def run(count: int, repeats: int) -> dict[str, Any]:
    embedder = load_embedder()
    texts = sentences()
    embedder.embed(["warm up the model once"])
    ways: list[tuple[str, int | None]] = [("remember (one call each)", None)]
    ways += [(f"remember_batch, {b} per call", b) for b in BATCHES]
    runs: dict[str, list[dict[str, float]]] = {how: [] for how, _ in ways}
    for _ in range(repeats):  # interleaved, so each way sees the same mix of load
        for how, batch in ways:
            runs[how].append(await write_rate(embedder, [next(texts) for _ in range(count)], batch))
    write = {how: _medians(results) for how, results in runs.items()}
    return {
        "count": count,
        "repeats": repeats,
        "write": write,
        "embedder": type(embedder).__name__,
        "seeding": await seeding(repeats),
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine(),
    }


def main() -> int:
    """Parse options, measure, print the table, write JSON and the RESULTS.md section."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=256, help="memories written per run")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each way (median reported)")
    parser.add_argument("--no-record", action="store_true", help="do not touch JSON or RESULTS.md")
    parser.add_argument(
        "--postgres", action="store_true", help="the write path on both engines, side by side"
    )
    parser.add_argument(
        "--database", default=None, help="Postgres admin URL (default: a pgserver for the run)"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    if args.postgres:
        with ExitStack() as stack:
            postgres = stack.enter_context(engines.postgres(args.database))
            both = asyncio.run(engines_side_by_side(args.count, args.repeats, postgres))
        both["wall_s"] = round(time.perf_counter() - started, 1)
        text = engines_table(both)
        print(text)
        if not args.no_record:
            write_json(RESULTS_DIR / "ingest_postgres.json", both)
            record_section(
                "ingest_postgres",
                "## Ingest on Postgres beside SQLite (bench/ingest.py --postgres)\n\n"
                f"`.venv/bin/python -m bench.ingest --postgres` ({both['date'][:16]}, {both['wall_s']} s)."
                f" Machine: {both['machine']}; Postgres 16.2 with pgvector 0.6.2 from the pgserver wheel, on"
                " the same machine, default settings (synchronous commit on).\n\n" + text,
            )
        return 0
    result = asyncio.run(run(args.count, args.repeats))
    result["wall_s"] = round(time.perf_counter() - started, 1)
    text = table(result)
    print(text)
    print(f"({result['wall_s']} s)")
    if not args.no_record:
        write_json(RESULT, result)
        record_section(
            "ingest",
            "## Ingest and seeding (bench/ingest.py)\n\n"
            f"`.venv/bin/python -m bench.ingest` ({result['date'][:16]}, {result['wall_s']} s). Machine:"
            f" {result['machine']}.\n\n" + text,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
