"""Embedding: ONNX Runtime (local export of the bundled MiniLM) against sentence-transformers on torch.

Each as the product runs it (ONNX Runtime on 2 threads that sleep when idle; torch, the fallback, on
one). Measured, interleaved round by round (the runtime that goes
first alternates) so both see the same load on a shared machine: the latency of one query (a chat sentence,
as each turn's recall embeds one) and the throughput of batches of 16 and 64 (the write path, seeding).
Every call gets texts neither runtime has seen, so the cache of recent texts never helps. Also: the export
time (into a fresh cache dir, torch and transformers already imported), the agreement of the vectors
(cosine, and the largest difference of any coordinate), and how long each takes to be ready to embed
(torch: importing torch and sentence-transformers included; ONNX: a fresh process importing onnxruntime and
loading the cached export, which needs neither torch nor transformers).

Texts: things people said and asked in LoCoMo (../shared/bench/locomo10.json), in a fixed shuffled order.

Run: .venv/bin/python -m bench.embed [--rounds 30] [--batch-rounds 3]
Prints a table, writes bench/results/embed.json and rewrites its section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from bench.locomo_metrics import machine
from bench.report import RESULTS_DIR, record_section, write_json
from bench.scale_data import sentences
from memory.embed_base import CachingEmbedder
from memory.embedder import SentenceTransformerEmbedder
from memory.onnx_embed import OnnxEmbedder

RESULT = RESULTS_DIR / "embed.json"
BATCHES = (16, 64)
LONG = " ".join(["I keep thinking about the letters Theodore wrote for strangers."] * 40)


def texts() -> Iterator[str]:
    """Chat sentences, never the same one twice (past the end, numbered copies)."""
    base, turns = sentences()
    pool = [t for t in dict.fromkeys(turns + base) if t.strip()]
    lap = 0
    while True:
        for text in pool:
            yield text if lap == 0 else f"{text} ({lap})"
        lap += 1


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def agreement(onnx: OnnxEmbedder, torch: SentenceTransformerEmbedder, sample: list[str]) -> dict[str, float]:
    """How close the two runtimes' vectors are, over `sample`."""
    a, b = onnx.embed(sample), torch.embed(sample)
    return {
        "texts": len(sample),
        "cosine_min": float((a * b).sum(axis=1).min()),
        "largest_difference": float(np.abs(a - b).max()),
    }


def onnx_start(cache: Path) -> float:
    """Seconds a fresh process takes to import the ONNX embedder and load it from a cached export."""
    code = (
        "import sys, time; started = time.perf_counter(); from pathlib import Path;"
        " from memory.onnx_embed import OnnxEmbedder; assert OnnxEmbedder(cache_dir=Path(sys.argv[1]))"
        ".export_seconds is None; print(time.perf_counter() - started)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(cache)], capture_output=True, text=True, check=True
    )
    return float(done.stdout.split()[-1])


def run(rounds: int, batch_rounds: int) -> dict[str, Any]:
    """Load both runtimes, then measure them interleaved."""
    load_average = os.getloadavg()[0]  # the machine is shared: how busy it was is part of the result
    source = texts()
    started = time.perf_counter()
    torch = SentenceTransformerEmbedder()  # the first import of torch here: its import is included
    torch_load_s = time.perf_counter() - started
    cache = Path(tempfile.mkdtemp(prefix="samantha-onnx-bench-"))
    try:
        onnx = OnnxEmbedder(cache_dir=cache)
        onnx_start_s = onnx_start(cache)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    assert onnx.export_seconds is not None
    ways: dict[str, CachingEmbedder] = {"torch": torch, "onnx": onnx}
    for embedder in ways.values():
        embedder.embed(["warm up once", "and once more with two"])
    check = [next(source) for _ in range(62)] + ["", LONG]
    single: dict[str, list[float]] = {w: [] for w in ways}
    throughput: dict[str, dict[int, list[float]]] = {w: {b: [] for b in BATCHES} for w in ways}
    for r in range(rounds):
        order = list(ways) if r % 2 == 0 else list(reversed(ways))
        for way in order:
            one = [next(source)]
            clock = time.perf_counter()
            ways[way].embed(one)
            single[way].append((time.perf_counter() - clock) * 1000)
        if r < batch_rounds:
            for size in BATCHES:
                for way in order:
                    batch = [next(source) for _ in range(size)]
                    clock = time.perf_counter()
                    ways[way].embed(batch)
                    throughput[way][size].append(size / (time.perf_counter() - clock))
    paired = [t / o for t, o in zip(single["torch"], single["onnx"], strict=True)]
    return {
        "rounds": rounds,
        "batch_rounds": batch_rounds,
        "single": {
            w: {"p50_ms": round(statistics.median(v), 2), "p95_ms": round(percentile(v, 95), 2)}
            for w, v in single.items()
        },
        "single_paired_ratio_median": round(statistics.median(paired), 2),
        "batch_per_s": {
            w: {str(b): round(statistics.median(v), 1) for b, v in sizes.items()}
            for w, sizes in throughput.items()
        },
        "export_s": round(onnx.export_seconds, 2),
        "onnx_start_s": round(onnx_start_s, 2),
        "torch_load_s": round(torch_load_s, 2),
        "agreement": agreement(onnx, torch, check),
        "load_average_1min_at_start": round(load_average, 2),
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine(),
    }


def table(r: dict[str, Any]) -> str:
    """A markdown table of the comparison, and the one-off costs."""
    s, b = r["single"], r["batch_per_s"]
    lines = [
        f"One query: {r['rounds']} rounds; batches: {r['batch_rounds']} rounds (median); interleaved.",
        "",
        "| | torch (sentence-transformers) | onnxruntime | torch / onnx |",
        "|---|---:|---:|---:|",
        f"| one chat sentence, p50 ms | {s['torch']['p50_ms']} | {s['onnx']['p50_ms']} |"
        f" {s['torch']['p50_ms'] / s['onnx']['p50_ms']:.2f}x (paired: {r['single_paired_ratio_median']}x) |",
        f"| one chat sentence, p95 ms | {s['torch']['p95_ms']} | {s['onnx']['p95_ms']} |"
        f" {s['torch']['p95_ms'] / s['onnx']['p95_ms']:.2f}x |",
    ]
    for size in BATCHES:
        t, o = b["torch"][str(size)], b["onnx"][str(size)]
        lines.append(f"| batch of {size}, texts/s | {t} | {o} | {o / t:.2f}x faster |")
    a = r["agreement"]
    lines += [
        f"| ready to embed, s | {r['torch_load_s']} | {r['onnx_start_s']} (cached export) |"
        f" {r['torch_load_s'] / r['onnx_start_s']:.1f}x |",
        "",
        f"Export (first use; fresh cache dir, torch and transformers already imported): {r['export_s']} s."
        f" Agreement over {a['texts']} texts (with an empty and a >256-token one): cosine min"
        f" {a['cosine_min']:.7f}, largest coordinate difference {a['largest_difference']:.1e}.",
    ]
    return "\n".join(lines)


def main() -> int:
    """Parse options, measure, print the table, write JSON and the RESULTS.md section."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=30, help="single-query rounds (each runtime)")
    parser.add_argument("--batch-rounds", type=int, default=3, help="rounds of batches of 16 and 64")
    parser.add_argument("--no-record", action="store_true", help="do not touch JSON or RESULTS.md")
    args = parser.parse_args()
    started = time.perf_counter()
    result = run(args.rounds, min(args.batch_rounds, args.rounds))
    result["wall_s"] = round(time.perf_counter() - started, 1)
    text = table(result)
    print(text)
    print(f"({result['wall_s']} s)")
    if not args.no_record:
        write_json(RESULT, result)
        record_section(
            "embed",
            "## Embedding: ONNX Runtime vs torch (bench/embed.py)\n\n"
            f"`.venv/bin/python -m bench.embed --rounds {args.rounds} --batch-rounds {args.batch_rounds}`"
            f" ({result['date'][:16]}, {result['wall_s']} s, load average"
            f" {result['load_average_1min_at_start']} at the start). Machine: {result['machine']}. Each as"
            " the product runs it: ONNX Runtime on 2 threads that sleep when idle, torch on 1.\n\n" + text,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
