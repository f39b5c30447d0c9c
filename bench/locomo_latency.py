"""Where recall's time goes: query embedding (2 torch threads vs 1) and the rest of recall, product vs recipe.

One LoCoMo conversation is written into a MemoryStore and a RecipeStore; each of its questions is then
embedded and recalled, every step timed on its own, in several interleaved rounds (medians over all).

    .venv/bin/python -m bench.locomo_latency [--conversation 4] [--rounds 3] [--questions 150]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from bench import locomo_data, locomo_metrics, locomo_recipe, report
from memory import recall
from memory.embedder import load_embedder
from memory.store import MemoryStore


def _ms(fn: Callable[..., object], *args: object) -> float:
    t0 = time.perf_counter()
    fn(*args)
    return (time.perf_counter() - t0) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conversation", type=int, default=4, help="which conversation (0-9)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--questions", type=int, default=150)
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args(argv)
    data = locomo_data.load()
    questions = [q.question for q in data[args.conversation].questions if q.gold][: args.questions]
    unseen = iter([q.question for c in data for q in c.questions if q.question not in questions])
    embedder = load_embedder()
    threads = torch.get_num_threads()
    times: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        product = MemoryStore(Path(a), embedder)
        recipe = locomo_recipe.RecipeStore(Path(b), embedder)
        product.add_batch(
            "u", [locomo_data.new_memory(t) for t in data[args.conversation].turns], dedupe=False
        )
        recipe.add_batch("u", locomo_recipe.items(data[args.conversation].turns), dedupe=False)
        for store in (product, recipe):
            store.index("u")
            store.index("*")
        steps: dict[str, Callable[[str, np.ndarray], object]] = {
            "recall.run (product, after the embedding)": lambda q, v: recall.run(
                product._conn, {"u": product.index("u"), "*": product.index("*")}, v, q, args.k
            ),
            "locomo_recipe.run (recipe, after the embedding)": lambda q, v: locomo_recipe.run(
                recipe._conn, {"u": recipe.index("u"), "*": recipe.index("*")}, v, q, args.k
            ),
        }
        for _ in range(args.rounds):
            for n in sorted({threads, 1, 2}):
                torch.set_num_threads(n)
                embedder.embed(["warm up", "the model"])
                label = f"query embedding, {n} torch thread(s)"
                for _ in questions:  # questions never embedded before: the embedder may keep recent ones
                    times.setdefault(label, []).append(_ms(embedder.embed, [next(unseen)]))
            torch.set_num_threads(threads)
            vectors = embedder.embed(questions)
            for name, step in steps.items():
                for q, v in zip(questions, vectors, strict=True):
                    times.setdefault(name, []).append(_ms(step, q, v))
    rows = {name: locomo_metrics.percentiles(t) for name, t in times.items()}
    print(f"{'step':<52}{'p50 ms':>9}{'p95 ms':>9}{'n':>7}")
    for name, p in rows.items():
        print(f"{name:<52}{p['p50']:>9.2f}{p['p95']:>9.2f}{p['n']:>7}")
    report.write_json(
        report.RESULTS_DIR / "locomo_latency.json",
        {
            "steps": rows,
            "k": args.k,
            "turns": len(data[args.conversation].turns),
            "machine": locomo_metrics.machine(),
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
