"""LoCoMo evidence recall through Samantha's real memory paths (`make bench-memory`).

Every turn of each of the 10 conversations is written with MemoryStore.remember_batch (kind "turn", the
product's text format with the speaker's name as the role, the session time as created_at), every
question with evidence is asked through `await store.recall(...)` with the product's RecallConfig (or
another one: bench/locomo_experiments.py runs its variants through `benchmark`), and the evidence turns
found in the top k are scored: recall@k = |gold ∩ top-k| / |gold|, hit@k = any gold in top-k, per category and
overall, with 95% CIs from resampling whole conversations. Query latency is the wall time of recall.

    .venv/bin/python -m bench.locomo [--limit N] [--k 5 10] [--out PATH] [--engine postgres [--database URL]]

`--engine postgres` runs the same benchmark on the Postgres engine (bench/engines.py): each conversation
in a fresh database, on the server at --database or on one pgserver starts for the run.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from bench import engines, locomo_data, locomo_metrics, report
from bench.locomo_data import CATEGORIES, DataError, LocomoConversation
from bench.locomo_metrics import Outcome
from memory.embedder import Embedder, load_embedder
from memory.recall import RecallConfig
from memory.store_base import MemoryEngine

log = logging.getLogger("bench.locomo")
COMMAND = ".venv/bin/python -m bench.locomo"


@dataclass(frozen=True)
class Mode:
    """How the run differs from the product as it is: whether recall may leave traces."""

    isolate: bool = False  # recall leaves no trace, so no question is scored under another's influence
    engine: str = "sqlite"  # or "postgres": the same run on the Postgres engine

    @property
    def config(self) -> RecallConfig:
        return RecallConfig(strengthen=not self.isolate)

    @property
    def flags(self) -> str:
        flags = ["--isolate"] if self.isolate else []
        return " ".join(flags + (["--engine", self.engine] if self.engine != "sqlite" else []))

    @property
    def name(self) -> str:
        return (
            "locomo"
            + ("_isolated" if self.isolate else "")
            + ("_postgres" if self.engine != "sqlite" else "")
        )


async def run_conversation(
    store: MemoryEngine, number: int, conv: LocomoConversation, ks: list[int], vectors: np.ndarray | None
) -> tuple[list[Outcome], dict[int, list[float]], float]:
    """Ingest one conversation as its own user, ask its questions; outcomes, latencies per k, ingest s."""
    user = f"locomo-{number}"
    started = time.perf_counter()
    dia = {m.id: d for d, m in await locomo_data.ingest(store, user, conv.turns, vectors)}
    ingest_s = time.perf_counter() - started
    await store.recall(user, "warm up", k=max(ks))  # loads the user's index; not timed

    outcomes: list[Outcome] = []
    latency: dict[int, list[float]] = {k: [] for k in ks}
    for q in conv.questions:
        if not q.gold:
            continue
        ranked: dict[int, list[str]] = {}
        # Largest k first: that call is the one timed as recall latency. The embedder may keep recent
        # texts (memory/embedder.py), so later calls for the same question can skip the query embedding.
        for k in sorted(ks, reverse=True):
            t0 = time.perf_counter()
            recalled = await store.recall(user, q.question, k=k)
            latency[k].append((time.perf_counter() - t0) * 1000)
            ranked[k] = [dia[r.memory.id] for r in recalled if r.memory.id in dia]
        outcomes.append(locomo_metrics.outcome(number, q.category, q.gold, ranked))
    return outcomes, latency, ingest_s


async def benchmark(
    conversations: list[LocomoConversation],
    embedder: Embedder,
    ks: list[int],
    config: RecallConfig,
    *,
    vectors: list[np.ndarray] | None = None,
    engine: engines.Embedded | engines.Postgres | None = None,
) -> dict[str, Any]:
    """Every conversation in a fresh store (of `engine`, the embedded one by default) recalling with
    `config` (`vectors`: each one's turns, already embedded as the product embeds them); the summary,
    latencies and run details."""
    engine = engine or engines.Embedded()
    commit = report.commit()  # the code as imported now
    outcomes: list[Outcome] = []
    latency: dict[int, list[float]] = {k: [] for k in ks}
    ingest_s = 0.0
    for number, conv in enumerate(conversations):
        # A fresh store per conversation: like a local install with one person in it, and no conversation
        # sees another's words (BM25 ranks with statistics over the whole table, not per user).
        async with engine.fresh(embedder, config) as store:
            turn_vectors = vectors[number] if vectors is not None else None
            got, lat, secs = await run_conversation(store, number, conv, ks, turn_vectors)
        outcomes += got
        ingest_s += secs
        for k in ks:
            latency[k] += lat[k]
        r = sum(o.recall[max(ks)] for o in got) / max(len(got), 1)
        log.info("%s: %d turns, %d questions, recall@%d %.3f", conv.sample_id, len(conv.turns),
                 len(got), max(ks), r)  # fmt: skip
    summary = locomo_metrics.summarise(outcomes, ks)
    turns = sum(len(c.turns) for c in conversations)
    main_k = max(ks)
    result: dict[str, Any] = {}
    for key, table in summary.items():
        result[key] = {group: cell["mean"] for group, cell in table.items()}
    result["latency_ms"] = {
        **locomo_metrics.percentiles(latency[main_k]),
        "k": main_k,
        "measured": "first recall of each question (largest k); later calls may reuse its embedding",
        "later_calls": {str(k): locomo_metrics.percentiles(latency[k]) for k in ks if k != main_k},
    }
    result["ci95"] = {key: {g: c["ci95"] for g, c in table.items()} for key, table in summary.items()}
    result["questions"] = {g: c["n"] for g, c in summary[f"recall_at_{main_k}"].items()}
    result["ingest"] = {"turns": turns, "seconds": ingest_s, "turns_per_s": turns / ingest_s}
    result["data"] = {
        "conversations": len(conversations),
        "questions_total": sum(len(c.questions) for c in conversations),
        "questions_without_evidence": sum(1 for c in conversations for q in c.questions if not q.gold),
        "unresolved_evidence_ids": sorted(
            u for c in conversations for q in c.questions for u in q.unresolved
        ),
    }
    result["meta"] = {
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": locomo_metrics.machine(),
        "embedder": embedder.name,
        "commit": commit,
        "store": engine.name,
        "isolate": not config.strengthen,
        "bootstrap": "1000 resamples of conversations, seed 0, percentile 95% CI",
        "loadavg_1m_at_end": round(os.getloadavg()[0], 2),  # other work on the machine skews latency
    }
    result["_table"] = locomo_metrics.render(summary, ks)
    return result


def markdown(result: dict[str, Any], ks: list[int]) -> str:
    """The RESULTS.md section: command, machine, date and the numbers."""
    m = result["meta"]
    mach = m["machine"]
    cols = [f"{x}_at_{k}" for k in ks for x in ("recall", "hit")]
    lines = [
        "## LoCoMo evidence recall: the product"
        + (", recall leaving no trace (no strengthening)" if m["isolate"] else "")
        + (", on Postgres" if m["store"] == engines.Postgres.name else ""),
        "",
        f"`{m['command']}`"
        + ("" if m["isolate"] or m["store"] != engines.Embedded.name else " (`make bench-memory`)")
        + f" — {m['date']}, commit {m['commit']}, "
        f"{mach['nproc']} cores ({mach['cpu']}), {mach['ram_gb']} GB RAM, embedder {m['embedder']}.",
        "",
        "Percent, 95% CI from 1000 bootstrap resamples of the 10 conversations. "
        "recall@k = |gold ∩ top-k| / |gold|; hit@k = at least one gold turn in the top k.",
        "",
        "| group | n | " + " | ".join(c.replace("_at_", "@") for c in cols) + " |",
        "|---|---:|" + "---:|" * len(cols),
    ]
    for group, n in result["questions"].items():
        label = group if group in ("all", "cat_1_4") else f"{group} {CATEGORIES[int(group[-1])]}"
        cells = []
        for c in cols:
            lo, hi = result["ci95"][c][group]
            cells.append(f"{100 * result[c][group]:.1f} [{100 * lo:.1f}, {100 * hi:.1f}]")
        lines.append(f"| {label} | {n} | " + " | ".join(cells) + " |")
    lat, ing, data = result["latency_ms"], result["ingest"], result["data"]
    lines += [
        "",
        f"Recall latency (k={lat['k']}, {lat['n']} queries): "
        f"p50 {lat['p50']:.1f} ms, p95 {lat['p95']:.1f} ms (1-min load average at the end: "
        f"{m['loadavg_1m_at_end']}; the 2 cores are shared with other work). "
        f"Ingest: {ing['turns']} turns in {ing['seconds']:.1f} s ({ing['turns_per_s']:.0f} turns/s, "
        "embedding included).",
        f"Questions: {data['questions_total']}, "
        f"{data['questions_without_evidence']} without evidence (skipped); "
        f"unresolvable evidence ids: {len(data['unresolved_evidence_ids'])} "
        f"({', '.join(data['unresolved_evidence_ids'])}).",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--limit", type=int, default=None, help="only the first N conversations")
    parser.add_argument("--k", type=int, nargs="+", default=[5, 10], help="cut-offs to score (default 5 10)")
    parser.add_argument("--data", type=Path, default=locomo_data.DATA_PATH, help="path to locomo10.json")
    parser.add_argument(
        "--out", type=Path, default=None, help="JSON output (default bench/results/locomo.json)"
    )
    parser.add_argument(
        "--isolate", action="store_true", help="recall leaves no trace (RecallConfig(strengthen=False))"
    )
    parser.add_argument("--no-record", action="store_true", help="do not update bench/RESULTS.md")
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite", help="memory engine")
    parser.add_argument(
        "--database", default=None, help="for postgres: an admin URL (default: a pgserver for the run)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for name in ("sentence_transformers", "memory", "httpx"):
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        conversations = locomo_data.load(args.data)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    conversations = conversations[: args.limit] if args.limit else conversations
    ks = sorted(set(args.k))
    mode = Mode(isolate=args.isolate, engine=args.engine)
    with ExitStack() as stack:
        engine = None if args.engine == "sqlite" else stack.enter_context(engines.postgres(args.database))
        result = asyncio.run(benchmark(conversations, load_embedder(), ks, mode.config, engine=engine))
    result["meta"]["command"] = f"{COMMAND} {mode.flags}".strip()
    print(result.pop("_table"))
    lat = result["latency_ms"]
    print(f"\nlatency k={lat['k']}: p50 {lat['p50']:.1f} ms  p95 {lat['p95']:.1f} ms   "
          f"ingest {result['ingest']['turns_per_s']:.0f} turns/s   "
          f"unresolved evidence ids: {len(result['data']['unresolved_evidence_ids'])}")  # fmt: skip
    full = args.limit is None and args.data == locomo_data.DATA_PATH
    name = mode.name + ("" if full else f"_limit{args.limit}")
    out = args.out or report.RESULTS_DIR / f"{name}.json"
    report.write_json(out, result)
    print(f"wrote {out}")
    if full and not args.no_record:
        report.record_section(name, markdown(result, ks))
        print(f"recorded in {report.RESULTS_MD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
