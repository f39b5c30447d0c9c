"""Recall latency at a large store, on both engines: p50/p95 of the product's `recall` for one person with N
memories (issue 17: 100k per user).

The memories are bench/scale_data.py's synthetic ones (real LoCoMo sentences embedded once, mixed with
noise: nearest-neighbour cosines and word statistics like real conversation), written with the product's
`remember_batch` in batches (vectors given, so embedding is not what is timed); the questions are real
LoCoMo questions, embedded by the product's embedder as a turn would. Each engine gets a fresh store and the
same memories and questions, engine after engine in one run.

    .venv/bin/python -m bench.recall_scale [--memories 100000] [--queries 200] [--engines embedded,postgres]
        [--database ADMIN_URL] [--no-record]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from datetime import UTC, datetime
from typing import Any

from bench import engines, locomo_metrics, report, scale_data
from memory.embedder import Embedder, load_embedder
from memory.recall import RecallConfig

log = logging.getLogger("bench.recall_scale")
COMMAND = ".venv/bin/python -m bench.recall_scale"
USER = "scale"
BATCH = 2000


async def measure(engine: Any, embedder: Embedder, n: int, queries: list[str]) -> dict[str, Any]:
    """Write n memories into a fresh store of `engine`, then time `recall` for each query."""
    base, _ = scale_data.sentences()
    vectors, items = scale_data.synthetic(n, scale_data.base_vectors(embedder, base), base, seed=0)
    async with engine.fresh(embedder, RecallConfig(strengthen=False)) as store:
        started = time.perf_counter()
        for s in range(0, n, BATCH):
            await store.remember_batch(
                USER, items[s : s + BATCH], vectors=vectors[s : s + BATCH], dedupe=False
            )
        write_s = time.perf_counter() - started
        await store.recall(USER, "warm up", k=10, shared=False)  # loads the index; not timed
        latencies = []
        for q in queries:
            t0 = time.perf_counter()
            await store.recall(USER, q, k=10, shared=False)
            latencies.append((time.perf_counter() - t0) * 1000)
    return {"latency_ms": locomo_metrics.percentiles(latencies), "write_s": round(write_s, 1), "memories": n}


async def run(names: list[str], n: int, count: int, database: str | None) -> dict[str, Any]:
    """Every engine in turn, the same memories and questions."""
    embedder = load_embedder()
    _, turns = scale_data.sentences()
    queries = [t for t in turns if t.rstrip().endswith("?")][:count]
    out: dict[str, Any] = {}
    with engines.postgres(database) if "postgres" in names else _nothing() as pg:
        for name in names:
            engine = engines.Embedded() if name == "embedded" else pg
            log.info("%s: writing %d memories", name, n)
            out[name] = await measure(engine, embedder, n, queries)
            log.info("%s: %s", name, out[name])
    return out


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--memories", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--engines", default="embedded,postgres")
    parser.add_argument("--database", default=None, help="a Postgres admin URL (default: pgserver's own)")
    parser.add_argument("--no-record", action="store_true", help="do not write bench/results")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    names = [e.strip() for e in args.engines.split(",") if e.strip()]
    started = time.perf_counter()
    result = asyncio.run(run(names, args.memories, args.queries, args.database))
    result["meta"] = {
        "command": f"{COMMAND} --memories {args.memories} --queries {args.queries} --engines {args.engines}",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": report.commit(),
        "machine": locomo_metrics.machine(),
        "loadavg_1m_at_end": round(os.getloadavg()[0], 2),
        "seconds": round(time.perf_counter() - started, 1),
    }
    print("| engine | memories | recall p50 ms | p95 ms | write s |")
    print("|---|---:|---:|---:|---:|")
    for name in names:
        r = result[name]
        p50, p95 = r["latency_ms"]["p50"], r["latency_ms"]["p95"]
        print(f"| {name} | {r['memories']} | {p50:.1f} | {p95:.1f} | {r['write_s']} |")
    if not args.no_record:
        report.write_json(report.RESULTS_DIR / "recall_scale.json", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
