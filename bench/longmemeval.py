"""LongMemEval_s retrieval through Samantha's real memory paths (`make bench-memory`: a stratified subset).

Each question gets a fresh store; its whole history (both speakers, every session at its date) is written
with MemoryStore.remember_batch of the product's turn memories (bench/longmemeval_data.py), and the
question is asked through `store.recall(...)` at its question date. Scored on the top k memories:
turn recall@k (share of the `has_answer` turns found), session recall_any@k (an evidence session among
them) and recall_all@k (every evidence session among them), per question type, with 95% bootstrap CIs
over questions. Abstention questions (`_abs`) are skipped by the retrieval metric, as in the paper; for
them, and for the rest, `recalled_nothing` tells how often nothing passed the relevance floor (she says she
doesn't remember: right for the first, a loss for the others).

    .venv/bin/python -m bench.longmemeval [--per-type N | --all] [--split dev|held-out|all] [--out PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import logging
import os
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from bench import locomo_metrics, longmemeval_data, report
from bench.longmemeval_data import TYPES, LmeQuestion
from memory.embed_base import MAX_TOKENS
from memory.embedder import Embedder, load_embedder
from memory.recall import RecallConfig
from memory.store import MemoryStore
from memory.write import NewMemory

log = logging.getLogger("bench.longmemeval")
COMMAND = ".venv/bin/python -m bench.longmemeval"
KS = (5, 10)
# Vectors of each question's history, by embedder and texts (a cache outside the repository).
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "samantha" / "longmemeval"
USER = "lme"
# Variants are the product with another RecallConfig (never a copy of its pipeline).
VARIANTS = {
    "product": RecallConfig(),
    "her-words-equal": RecallConfig(her_words=1.0),
    "when": RecallConfig(w_when=0.3, when_pool=50),
    "per-day-3": RecallConfig(max_per_day=3),
    "per-day-5": RecallConfig(max_per_day=5),
    "no-floor": RecallConfig(min_relevance=0.0),
    "floor-0.2": RecallConfig(min_relevance=0.2),
}
METRICS = [f"{m}_at_{k}" for m in ("turn_recall", "session_recall_any", "session_recall_all") for k in KS]
METRICS += ["newest_first_at_10"]  # knowledge updates: the newest statement before the older ones
METRICS += ["recalled_nothing"]  # abstention questions: she says she doesn't remember (the floor's cost)


async def run_question(
    q: LmeQuestion, embedder: Embedder, config: RecallConfig, wall_clock: bool = False
) -> tuple[dict[str, float], float, float | None]:
    """One question in a fresh store: its scores, the recall latency (ms) and the ingest time (s)."""
    with tempfile.TemporaryDirectory(prefix="samantha-lme-") as tmp:
        store = await MemoryStore.open(Path(tmp), embedder, recall_config=config)
        try:
            # Each memory with the turn it came from (a long message becomes several: its passages).
            made = [(t.index, m) for t in q.turns for m in longmemeval_data.new_memories(t)]
            items = [m for _, m in made]
            vectors, embed_s = _vectors(embedder, q.qid, items)
            started = time.perf_counter()
            memories = await store.remember_batch(USER, items, vectors=vectors, dedupe=False)
            # Only a write that embedded its texts counts toward the ingest rate (None: from the cache).
            ingest_s = None if embed_s is None else embed_s + time.perf_counter() - started
            where: dict[int, list[int]] = {}  # memory id -> the turns it holds (same words, same day)
            for m, (turn, _) in zip(memories, made, strict=True):
                if m is not None:
                    where.setdefault(m.id, []).append(turn)
            await store.recall(USER, "warm up", k=max(KS))  # loads the index; not timed
            t0 = time.perf_counter()
            asked = None if wall_clock else q.asked_at  # None: the clock's time
            recalled = await store.recall(USER, q.question, k=max(KS), now=asked)
            latency = (time.perf_counter() - t0) * 1000
        finally:
            await store.aclose()
    ranked = [where.get(r.memory.id, []) for r in recalled]
    gold_turns = {t.index for t in q.turns if t.has_answer}
    # Nothing above the relevance floor: she says she doesn't remember. Right for a question about
    # something never said (abstention), a loss for the rest: the floor's two sides.
    scores: dict[str, float] = {"recalled_nothing": float(not recalled)}
    if q.abstention:
        return scores, latency, ingest_s
    for k in KS:
        found = {i for held in ranked[:k] for i in held}
        sessions = {q.turns[i].session for i in found}
        if gold_turns:
            scores[f"turn_recall_at_{k}"] = len(found & gold_turns) / len(gold_turns)
        scores[f"session_recall_any_at_{k}"] = float(bool(sessions & q.answer_sessions))
        scores[f"session_recall_all_at_{k}"] = float(q.answer_sessions <= sessions)
    newest = newest_first(q, ranked)
    if newest is not None:
        scores["newest_first_at_10"] = newest
    return scores, latency, ingest_s


def newest_first(q: LmeQuestion, ranked: list[list[int]]) -> float | None:
    """For a changed fact (evidence said on several days): 1 if its newest statement comes first among the
    evidence in the top 10, else 0; None where the evidence was all said on one day."""
    gold = [t for t in q.turns if t.has_answer]
    days = {t.created_at[:10] for t in gold}
    if q.qtype != "knowledge-update" or len(days) < 2:
        return None
    latest = max(days)
    for held in ranked[:10]:
        said = {q.turns[i].created_at[:10] for i in held if q.turns[i].has_answer}
        if said:
            return float(latest in said)
    return 0.0


def _vectors(embedder: Embedder, qid: str, items: list[NewMemory]) -> tuple[np.ndarray, float | None]:
    """The items' vectors as remember_batch embeds them, and the seconds it took (None: from the cache)."""
    # Embedding dominates the write; a variant of recall need not pay it again for the same texts.
    texts = [i.embed_text or i.text for i in items]
    # The key names how texts were cut, too: a cached vector of another length limit is another vector.
    key = [embedder.name, f"tokens {MAX_TOKENS}", *texts]
    digest = hashlib.sha256("\x00".join(key).encode()).hexdigest()[:16]
    cached = CACHE / f"{qid}-{digest}.npy"
    if cached.exists():
        return np.load(cached), None
    started = time.perf_counter()
    vectors = embedder.embed(texts)
    seconds = time.perf_counter() - started
    cached.parent.mkdir(parents=True, exist_ok=True)
    np.save(cached, vectors)
    return vectors, seconds


def _ci(values: list[float], resamples: int = 1000) -> tuple[float, float]:
    """95% percentile bootstrap CI of the mean, resampling questions (seed 0)."""
    if not values:
        return (0.0, 0.0)
    arr = np.array(values)
    rng = np.random.default_rng(0)
    means = arr[rng.integers(0, len(arr), (resamples, len(arr)))].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def summarise(rows: list[tuple[str, dict[str, float]]]) -> dict[str, Any]:
    """Per metric and group (all, temporal, each type): mean, CI and n."""
    out: dict[str, Any] = {}
    for metric in METRICS:
        groups: dict[str, list[float]] = {"all": []}
        for qtype, scores in rows:
            if metric in scores:
                if qtype != "abstention":  # "all" is every answerable question
                    groups["all"].append(scores[metric])
                groups.setdefault(qtype, []).append(scores[metric])
        out[metric] = {
            g: {"mean": float(np.mean(v)), "ci95": _ci(v), "n": len(v)}
            for g, v in sorted(groups.items(), key=lambda kv: (kv[0] != "all", kv[0]))
            if v
        }
    return out


async def benchmark(
    questions: list[LmeQuestion], embedder: Embedder, config: RecallConfig, wall_clock: bool = False
) -> dict[str, Any]:
    """Every question in its own store (abstention ones only for `recalled_nothing`); the summary in the
    JSON layout of bench/results."""
    commit = report.commit()
    rows: list[tuple[str, dict[str, float]]] = []
    per_question: list[dict[str, Any]] = []  # kept in the JSON, so a split or a type can be re-read later
    latencies: list[float] = []
    ingest_s, turns = 0.0, 0
    for n, q in enumerate(questions):
        scores, latency, secs = await run_question(q, embedder, config, wall_clock)
        rows.append(("abstention" if q.abstention else q.qtype, scores))
        per_question.append({"id": q.qid, "type": q.qtype, "dev": q.dev, **scores})
        latencies.append(latency)
        if secs is not None:
            ingest_s += secs
            turns += len(q.turns)  # turns said, not the memories (passages) they became
        log.info(
            "%d/%d %s %s turn@10 %s all@10 %s, ingest %s s",
            *(n + 1, len(questions), q.qid, q.qtype),
            *(scores.get("turn_recall_at_10", "-"), scores.get("session_recall_all_at_10", "-"), secs),
        )
    summary = summarise(rows)
    result: dict[str, Any] = {m: {g: c["mean"] for g, c in summary[m].items()} for m in METRICS}
    result["ci95"] = {m: {g: c["ci95"] for g, c in summary[m].items()} for m in METRICS}
    result["questions"] = {m: {g: c["n"] for g, c in summary[m].items()} for m in METRICS}
    result["latency_ms"] = locomo_metrics.percentiles(latencies)
    result["ingest_turns_per_s"] = turns / ingest_s if ingest_s else 0.0
    result["ingest"] = {"turns_embedded": turns, "seconds": ingest_s, "note": "cached vectors not counted"}
    result["per_question"] = per_question
    result["meta"] = {
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": locomo_metrics.machine(),
        "embedder": embedder.name,
        "commit": commit,
        "loadavg_1m_at_end": round(os.getloadavg()[0], 2),
        "bootstrap": "1000 resamples of questions, seed 0, percentile 95% CI",
    }
    return result


def table(result: dict[str, Any]) -> str:
    """Percent per group and metric, with the n of each group."""
    groups = list(dict.fromkeys(g for m in METRICS for g in result[m]))
    head = "| group | n | " + " | ".join(m.replace("_at_", "@") for m in METRICS) + " |"
    lines = [head, "|---|---:|" + "---:|" * len(METRICS)]
    for g in groups:
        cells = [f"{100 * result[m][g]:.1f}" if g in result[m] else "-" for m in METRICS]
        lines.append(
            f"| {g} | {max(result['questions'].get(m, {}).get(g, 0) for m in METRICS)} | "
            + " | ".join(cells)
            + " |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--per-type", type=int, default=5, help="questions per type, file order (default 5)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N of the selection")
    parser.add_argument("--all", action="store_true", help="every question (the whole set: make bench)")
    parser.add_argument("--split", choices=("dev", "held-out", "all"), default="all")
    parser.add_argument("--data", type=Path, default=longmemeval_data.DATA_PATH)
    parser.add_argument("--variant", choices=sorted(VARIANTS), default="product", help="RecallConfig to use")
    parser.add_argument(
        "--wall-clock", action="store_true", help="ask at the clock's time, not the question's"
    )
    parser.add_argument("--out", type=Path, default=None, help="JSON output (default bench/results/...)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for name in ("sentence_transformers", "memory", "httpx"):
        logging.getLogger(name).setLevel(logging.WARNING)
    questions = longmemeval_data.load(args.data)
    if args.split != "all":
        questions = [q for q in questions if q.dev == (args.split == "dev")]
    if not args.all:
        questions = longmemeval_data.stratified(questions, args.per_type)
    questions = questions[: args.limit] if args.limit else questions
    config = VARIANTS[args.variant]
    result = asyncio.run(benchmark(questions, load_embedder(), config, args.wall_clock))
    flags = ("--all" if args.all else f"--per-type {args.per_type}") + f" --split {args.split}"
    flags += f" --variant {args.variant}" + (" --wall-clock" if args.wall_clock else "")
    flags += f" --limit {args.limit}" if args.limit else ""
    result["meta"]["command"] = f"{COMMAND} {flags}"
    result["meta"]["split"] = {"selection": args.split, "dev": "sha256(question_id) % 3 == 0", "types": TYPES}
    print(table(result))
    print(f"\nlatency p50 {result['latency_ms']['p50']:.1f} ms  p95 {result['latency_ms']['p95']:.1f} ms   "
          f"ingest {result['ingest_turns_per_s']:.0f} turns/s")  # fmt: skip
    name = (
        "longmemeval"
        if args.all and args.split == "all"
        else f"longmemeval_{args.split}_" + ("all" if args.all else f"per{args.per_type}")
    ) + ("" if args.variant == "product" else f"_{args.variant}")
    out = args.out or report.RESULTS_DIR / f"{name}.json"
    report.write_json(out, result)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
