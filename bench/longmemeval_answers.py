"""End-to-end answers on a LongMemEval_s subset with the default local model: reported, not gated.

Each question's history is written and recalled exactly as bench/longmemeval.py does (the product's write
path, recall at the question's date, top 10), then answered by the product's prompt and llama.cpp backend
(bench/locomo_answers.Reader: the persona, the recalled memories, a short-answer instruction; greedy).
Scored as the issue asks: the reply contains the gold answer (both normalised: lower case, no punctuation,
number words as digits); for an abstention question (`_abs`), the reply says she doesn't know.
LoCoMo's token F1 against the gold answer is reported beside it, for long gold answers.

    .venv/bin/python -m bench.longmemeval_answers [--per-type N] [--split dev|held-out|all] [--no-record]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from app.backends import create_backend
from app.config import Settings
from bench import locomo_f1, locomo_metrics, longmemeval_data, report
from bench.locomo_answers import MAX_TOKENS, Reader
from bench.longmemeval import USER, _vectors
from bench.longmemeval_data import LmeQuestion
from memory.embedder import Embedder, load_embedder
from memory.recall import RecallConfig
from memory.store import MemoryStore
from persona.messages import GenParams
from persona.persona import load_persona

log = logging.getLogger("bench.longmemeval_answers")
COMMAND = ".venv/bin/python -m bench.longmemeval_answers"
K = 10
NUMBERS = "zero one two three four five six seven eight nine ten eleven twelve".split()
# How a reply says it does not know (an abstention question's right answer).
NOT_KNOWING = re.compile(
    r"\b(?:don'?t|do not|can'?t|cannot) (?:know|remember|recall|find|see)|not sure|"
    r"no (?:record|memory|mention|information)|(?:haven'?t|have not|didn'?t|did not|never) "
    r"(?:told|mentioned|said|shared)",
    re.IGNORECASE,
)


def normalise(text: str) -> str:
    """Lower case, words only, number words as digits."""
    words = [w.strip(".") for w in re.findall(r"[a-z0-9$.]+", text.lower().replace(",", ""))]
    return " ".join(str(NUMBERS.index(w)) if w in NUMBERS else w for w in words if w)


def correct(q: LmeQuestion, reply: str) -> bool:
    """The reply contains the gold answer (normalised), or for an abstention question says it doesn't know."""
    if q.abstention:
        return bool(NOT_KNOWING.search(reply))
    # A gold answer may name its alternatives: "25 minutes and 50 seconds (or 25:50)".
    golds = [q.answer, re.sub(r"\s*\(or [^)]*\)", "", q.answer), *re.findall(r"\(or ([^)]+)\)", q.answer)]
    return any(f" {normalise(g)} " in f" {normalise(reply)} " for g in golds if normalise(g))


async def answer(q: LmeQuestion, embedder: Embedder, reader: Reader) -> dict[str, Any]:
    """Write the history, recall at the question's date, answer; one row."""
    with tempfile.TemporaryDirectory(prefix="samantha-lme-answers-") as tmp:
        store = await MemoryStore.open(Path(tmp), embedder, recall_config=RecallConfig(strengthen=False))
        try:
            items = [m for t in q.turns for m in longmemeval_data.new_memories(t)]
            vectors, _ = _vectors(embedder, q.qid, items)
            await store.remember_batch(USER, items, vectors=vectors, dedupe=False)
            recalled = await store.recall(USER, q.question, k=K, now=q.asked_at)
        finally:
            await store.aclose()
    started = time.perf_counter()
    reply = await reader.answer([r.memory.text for r in recalled], q.question, q.asked_at.date().isoformat())
    return {
        "qid": q.qid,
        "type": "abstention" if q.abstention else q.qtype,
        "question": q.question,
        "gold": q.answer,
        "reply": reply,
        "correct": correct(q, reply),
        "f1": locomo_f1.f1_score(reply, q.answer),
        "recalled": len(recalled),
        "seconds": round(time.perf_counter() - started, 2),
    }


async def benchmark(questions: list[LmeQuestion]) -> dict[str, Any]:
    """Every question answered once; accuracy and F1 per type, and every reply (they are few)."""
    settings = Settings(backend="llamacpp", seeds_dir=None)
    params = GenParams(max_tokens=MAX_TOKENS, temperature=0.0, repeat_penalty=settings.repeat_penalty)
    embedder = await asyncio.to_thread(load_embedder)
    backend = await asyncio.to_thread(create_backend, settings)
    reader = Reader(backend, load_persona(settings.persona_file), params, settings.context_tokens)
    rows = []
    try:
        for n, q in enumerate(questions):
            rows.append(await answer(q, embedder, reader))
            log.info("%d/%d %s %s: %r", n + 1, len(questions), q.qid, rows[-1]["correct"], rows[-1]["reply"])
    finally:
        await backend.aclose()
    groups: dict[str, list[dict[str, Any]]] = {"all": rows}
    for row in rows:
        groups.setdefault(row["type"], []).append(row)
    return {
        "accuracy": {g: float(np.mean([r["correct"] for r in rs])) for g, rs in groups.items()},
        "f1": {g: float(np.mean([r["f1"] for r in rs])) for g, rs in groups.items()},
        "n": {g: len(rs) for g, rs in groups.items()},
        "seconds_per_answer_p50": float(np.median([r["seconds"] for r in rows])) if rows else 0.0,
        "rows": rows,
        "meta": {
            "date": datetime.now().astimezone().isoformat(timespec="seconds"),
            "machine": locomo_metrics.machine(),
            "commit": report.commit(),
            "model": backend.model_name,
            "k": K,
            "loadavg_1m_at_end": round(os.getloadavg()[0], 2),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--per-type", type=int, default=2, help="questions per type, file order (default 2)")
    parser.add_argument("--split", choices=("dev", "held-out", "all"), default="held-out")
    parser.add_argument("--out", type=Path, default=report.RESULTS_DIR / "longmemeval_answers.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    questions = longmemeval_data.load()
    if args.split != "all":
        questions = [q for q in questions if q.dev == (args.split == "dev")]
    result = asyncio.run(benchmark(longmemeval_data.stratified(questions, args.per_type)))
    result["meta"]["command"] = f"{COMMAND} --per-type {args.per_type} --split {args.split}"
    print("| type | n | contains the answer (or says it doesn't know) | token F1 |")
    print("|---|---:|---:|---:|")
    for g, n in result["n"].items():
        print(f"| {g} | {n} | {100 * result['accuracy'][g]:.0f}% | {result['f1'][g]:.2f} |")
    report.write_json(args.out, result)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
