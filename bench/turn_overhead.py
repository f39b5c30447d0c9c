"""Turn overhead without generation, for one user holding 1k to 1M memories.

A full turn through ChatSession.respond with the echo backend (no generation cost): store the message,
recall, build the prompt, stream the echo, store the reply, then learn from the exchange (embed and store
the turn and its facts) — the clock stops when that background learning has settled. Stores are built fast:
a few thousand real sentences (LoCoMo turns) are embedded with the bundled MiniLM once, and N memories are
made as normalised noisy mixtures of them (nearest-neighbour cosines like real sentences), inserted through
the real write path (MemoryStore.remember_batch with the vectors given, no de-duplication). Each part of a
turn is timed (exclusive time), and the approximate index's recall is measured against exact search.

Run: .venv/bin/python -m bench.turn_overhead [--sizes 1k,10k,100k] [--turns 200]
The defaults (1k, 10k, 100k) take ~3 minutes here; `make bench` (bench/run_all.py) runs 1k and 10k with 100
turns; 1M (`--sizes 1m`, 10-20 minutes on 2 busy cores, ~8 GB of memory at its peak) is run by hand.
Prints a table, merges into bench/results/turn_overhead.json and rewrites its section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import shutil
import statistics
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import Any

import numpy as np

import app.session
import memory.candidates
import memory.store
import memory.turns
import memory.write
from app.backends.scripted import EchoBackend
from app.config import Settings
from app.services import Services
from bench.locomo_metrics import machine
from bench.report import RESULTS_DIR, record_section, write_json
from bench.scale_data import approximate_recall, base_vectors, sentences, synthetic
from memory.accounts import AccountStore
from memory.embedder import Embedder, load_embedder
from memory.index import VectorIndex
from memory.recall import RecallConfig
from memory.seeds import ingest_seeds
from memory.store import MemoryStore
from persona.persona import load_persona

RESULT = RESULTS_DIR / "turn_overhead.json"
SEEDS = Path(__file__).resolve().parents[1] / "seeds"
USER = "bench"
BATCH = 20_000  # memories per remember_batch call when building a store
POOL = RecallConfig().pool_size(5)  # dense candidates recall.run asks each index for at k=5


# -- where the time goes ------------------------------------------------------------------------


class Stopwatch:
    """Exclusive time per labelled call, across the worker threads a turn uses; reset every turn."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = defaultdict(float)
        self._local = threading.local()
        self._lock = threading.Lock()

    @contextmanager
    def part(self, label: str) -> Iterator[None]:
        stack: list[list[Any]] = self._local.__dict__.setdefault("stack", [])
        parent = stack[-1][0] if stack else ""
        if label == "embed":  # the query's embedding and the memories' are told apart
            label = "embed query" if parent == "recall: SQL + scoring" else "embed memories"
        elif label == "dense search" and parent == "learn: dedupe check":
            label = parent
        frame: list[Any] = [label, 0.0]
        stack.append(frame)
        start = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            stack.pop()
            with self._lock:
                self.totals[label] += elapsed - frame[1]
            if stack:
                stack[-1][1] += elapsed

    def wrap(self, owner: Any, name: str, label: str) -> None:
        """Replace owner.name by a timed version of itself."""
        original: Callable[..., Any] = getattr(owner, name)

        @wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.part(label):
                return original(*args, **kwargs)

        setattr(owner, name, timed)

    def take(self) -> dict[str, float]:
        with self._lock:
            out = {k: v * 1000 for k, v in self.totals.items()}
            self.totals.clear()
        return out


class TimedEmbedder:
    """The real embedder, its calls timed."""

    def __init__(self, inner: Embedder, watch: Stopwatch) -> None:
        self.inner, self.watch = inner, watch
        self.name, self.dim = inner.name, inner.dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        with self.watch.part("embed"):
            return self.inner.embed(texts)


def instrument(watch: Stopwatch) -> None:
    """Time the parts of a turn where they run (in the store's worker threads)."""
    watch.wrap(memory.store.MemoryStore, "_recall", "recall: SQL + scoring")
    watch.wrap(VectorIndex, "search", "dense search")
    watch.wrap(memory.candidates, "lexical", "FTS5 lexical")
    watch.wrap(memory.turns, "insert", "log turns (SQL)")
    watch.wrap(memory.turns, "recent", "history (SQL)")
    watch.wrap(app.session, "build_messages", "build prompt")
    watch.wrap(memory.store.MemoryStore, "_insert", "learn: write (SQL)")
    watch.wrap(VectorIndex, "add", "learn: index add")
    watch.wrap(memory.write, "is_duplicate", "learn: dedupe check")


PARTS = [
    "embed query",
    "dense search",
    "FTS5 lexical",
    "recall: SQL + scoring",
    "history (SQL)",
    "build prompt",
    "log turns (SQL)",
    "embed memories",
    "learn: dedupe check",
    "learn: index add",
    "learn: write (SQL)",
    "stream echo deltas",
]


# -- one size -------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


async def measure(
    size: int,
    embedder: Embedder,
    watch: Stopwatch,
    base: np.ndarray,
    texts: list[str],
    turns: list[str],
    count: int,
) -> dict[str, Any]:
    """Build a store of `size` memories, then time `count` turns after a warm-up."""
    data = Path(tempfile.mkdtemp(prefix="samantha-overhead-"))
    settings = Settings(backend="echo", data_dir=data / "data", seeds_dir="")
    # What open_services does, with the seeds ingested quietly.
    store = await MemoryStore.open(settings.data_dir, TimedEmbedder(embedder, watch))
    await ingest_seeds(store, SEEDS, progress=False)
    accounts = await AccountStore.open(settings.data_dir)
    services = Services(settings, load_persona(settings.persona_file), store, EchoBackend(), accounts)
    try:
        vectors, items = synthetic(size, base, texts, seed=size)
        ids: list[int] = []
        started = time.perf_counter()
        for s in range(0, size, BATCH):
            stored = await store.remember_batch(
                USER, items[s : s + BATCH], vectors=vectors[s : s + BATCH], dedupe=False
            )
            ids += [m.id for m in stored if m is not None]
        build_s = time.perf_counter() - started
        index = store.index(USER)
        quality = approximate_recall(index, np.array(ids), vectors, embedder.embed(turns[-200:]), POOL)
        del vectors, items, ids, stored  # a server holds none of this: its memories live in SQLite and faiss
        gc.collect()

        session = services.session(USER, "bench")
        watch.take()
        for text in turns[:10]:  # warm-up: caches, thread pool, first-use paths
            await turn(session, services, text)
        watch.take()
        times: list[float] = []
        parts: dict[str, list[float]] = defaultdict(list)
        for n in range(count):
            total, streamed, deltas = await turn(session, services, turns[10 + n % (len(turns) - 10)])
            taken = watch.take() | {"stream echo deltas": streamed}
            times.append(total)
            for label in PARTS:
                parts[label].append(taken.get(label, 0.0))
            parts["rest"].append(total - sum(taken.get(label, 0.0) for label in PARTS))
            parts["without stream"].append(total - streamed)
            parts["deltas"].append(deltas)
        await services.aclose()  # saves the index
        restart = await reopen(settings.data_dir, embedder)
    finally:
        shutil.rmtree(data, ignore_errors=True)
    return {
        "memories": size,
        "index": index.describe(),
        "build_s": round(build_s, 1),
        "turns": count,
        "p50_ms": round(percentile(times, 50), 2),
        "p95_ms": round(percentile(times, 95), 2),
        "p99_ms": round(percentile(times, 99), 2),
        "no_stream_p50_ms": round(percentile(parts["without stream"], 50), 2),
        "no_stream_p99_ms": round(percentile(parts["without stream"], 99), 2),
        "parts_p50_ms": {label: round(statistics.median(parts[label]), 2) for label in PARTS},
        "parts_mean_ms": {label: round(statistics.mean(parts[label]), 2) for label in PARTS},
        "parts_p99_ms": {label: round(percentile(parts[label], 99), 2) for label in [*PARTS, "rest"]},
        "rest_p50_ms": round(statistics.median(parts["rest"]), 2),
        "deltas_per_turn": round(statistics.median(parts["deltas"])),
        **quality,
        **restart,
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine(),
    }


async def reopen(data_dir: Path, embedder: Embedder) -> dict[str, float]:
    """After a restart: seconds until the user's index is ready, from its file and (file gone) from SQLite."""
    out = {}
    for way in ("index_load_s", "index_rebuild_s"):
        if way == "index_rebuild_s":
            for path in (data_dir / "index").glob("*.faiss"):
                path.unlink()
        store = await MemoryStore.open(data_dir, embedder)
        started = time.perf_counter()
        await asyncio.to_thread(store.index, USER)
        out[way] = round(time.perf_counter() - started, 2)
        await store.aclose()
    return out


async def turn(session: app.session.ChatSession, services: Services, text: str) -> tuple[float, float, int]:
    """One full turn in ms, including the background learning it started; and the time from the echo's
    first delta to its last (what a model's tokens cost the event loop besides generating), and how many."""
    started = time.perf_counter()
    first = last = 0.0
    deltas = 0
    async for frame in session.respond(text):
        if frame.type == "error":
            raise RuntimeError(f"turn failed: {frame}")
        if frame.type == "delta":
            last = time.perf_counter()
            first = first or last
            deltas += 1
    await services.learner.settle(session.user)
    return (time.perf_counter() - started) * 1000, (last - first) * 1000, deltas


# -- report ---------------------------------------------------------------------------------------


def parse_size(text: str) -> int:
    text = text.strip().lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def label(size: int) -> str:
    return f"{size // 1_000_000}M" if size >= 1_000_000 else f"{size // 1000}k" if size >= 1000 else str(size)


def table(results: list[dict[str, Any]]) -> str:
    """Markdown: latency by size, then where the time goes (median ms of each part), then index quality."""
    lines = [
        "| memories | index | p50 ms | p95 ms | p99 ms | without echo stream: p50 | p99 | turns | measured |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        lines.append(
            f"| {label(r['memories'])} | {r['index']} | {r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} |"
            f" {r['no_stream_p50_ms']} | {r['no_stream_p99_ms']} | {r['turns']} | {r['date'][:16]} |"
        )
    lines += ["", "Where the time goes (median per turn, ms, exclusive):", ""]
    lines.append("| part | " + " | ".join(label(r["memories"]) for r in results) + " |")
    lines.append("|---|" + "---:|" * len(results))
    for part in PARTS:
        lines.append(f"| {part} | " + " | ".join(str(r["parts_p50_ms"][part]) for r in results) + " |")
    for name, key in (
        ("rest (event loop, thread hand-offs)", "rest_p50_ms"),
        ("echo deltas per turn", "deltas_per_turn"),
    ):
        lines.append(f"| {name} | " + " | ".join(str(r.get(key, "")) for r in results) + " |")
    lines += [
        "",
        f"Dense index against exact search (top {POOL} = the recall pool at k=5, and top 5), and the",
    ]
    lines += [
        "index's life: building the store (remember_batch with vectors given), after a restart loading it"
    ]
    lines += ["from its file, or rebuilding it from SQLite when the file is gone:", ""]
    lines.append(
        f"| memories | index | recall@{POOL} | recall@5 | search p50 ms | exact search p50 ms | store build s"
        " | index load s | index rebuild s |"
    )
    lines.append("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        lines.append(
            f"| {label(r['memories'])} | {r['index']} | {r.get(f'recall_at_{POOL}', '-')}"
            f" | {r['recall_at_5']} |"
            f" {r['search_ms_p50']} | {r['exact_search_ms_p50']} | {r['build_s']} |"
            f" {r.get('index_load_s', '')} | {r.get('index_rebuild_s', '')} |"
        )
    return "\n".join(lines)


def main() -> int:
    """Parse options, measure each size, print the table, merge the JSON, update RESULTS.md."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1k,10k,100k", help="comma-separated store sizes, e.g. 1k,100k,1m")
    parser.add_argument(
        "--turns", type=int, default=200, help="timed turns per size (after 10 warm-up turns)"
    )
    parser.add_argument("--no-record", action="store_true", help="do not touch JSON or RESULTS.md")
    args = parser.parse_args()
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]

    embedder = load_embedder()
    watch = Stopwatch()
    instrument(watch)
    base_texts, turns = sentences()
    base = base_vectors(embedder, base_texts)
    fresh = []
    for size in sizes:
        started = time.perf_counter()
        result = asyncio.run(measure(size, embedder, watch, base, base_texts, turns, args.turns))
        result["wall_s"] = round(time.perf_counter() - started, 1)
        fresh.append(result)
        print(f"{label(size)}: p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms ({result['wall_s']} s)")
    print(table(fresh))
    if args.no_record:
        return 0
    merged = (
        {r["memories"]: r for r in json.loads(RESULT.read_text()).get("sizes", [])} if RESULT.exists() else {}
    )
    merged.update({r["memories"]: r for r in fresh})
    everything = [merged[k] for k in sorted(merged)]
    write_json(RESULT, {"sizes": everything})
    record_section(
        "turn-overhead",
        "## Turn overhead without generation (bench/turn_overhead.py)\n\n"
        "`.venv/bin/python -m bench.turn_overhead` (sizes 1k,10k,100k; 1M with `--sizes 1m`). One user,"
        " echo backend, a full `ChatSession.respond` turn including the background learning, 200 turns per"
        f" size after 10 warm-up turns. Machine: {everything[-1]['machine']}.\n\n" + table(everything),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
