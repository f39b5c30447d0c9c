"""`make bench`: every benchmark in bench/, each in its own process, then one summary table.

Options are chosen so the whole run stays under 15 minutes on a 2-core machine; each benchmark also has a
time limit of its own (never more than what is left of the 15 minutes), after which it is stopped and
reported as such; one that would get less than 30 s is skipped. A benchmark module that does not
exist (yet) is skipped with a line saying so. Each writes its own JSON to bench/results/ (and, where it
does, its section of bench/RESULTS.md); this script reads those files back for the summary.

Run: .venv/bin/python -m bench.run_all [--only load,generation]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.report import RESULTS_DIR, write_json

BUDGET_S = 15 * 60


def _generation(r: dict[str, Any]) -> str:
    c, long = r["compare"], r["caching"]["long"]
    return (
        f"overhead vs raw: TTFT {c['overhead_ttft_pct_paired_p50']} %,"
        f" tok/s {c['overhead_tps_pct_paired_p50']} %;"
        f" long persona TTFT cold {long['ttft_cold_ms_p50']} ms -> cached {long['ttft_cached_ms_p50']} ms"
    )


def _load(r: dict[str, Any]) -> str:
    s, p = r["saturation"], r["paced"]
    idle = r.get("idle_llamacpp") or r["idle_echo"]
    return (
        f"max {s['turns_per_s']} turns/s; at {p['offered_turns_per_s']}/s offered: {p['turns_per_s']}/s,"
        f" p99 {p['p99_ms']} ms; {idle['connections']} idle held, RSS {idle['rss_mib_held']} MiB"
    )


def _cold_start(r: dict[str, Any]) -> str:
    first, second = r["first start (seeds ingested)"], r["second start"]
    return (
        f"ready {first['ready_s']} s first / {second['ready_s']} s second;"
        f" first reply {second['first_reply_ms']} ms"
    )


def _locomo_answers(r: dict[str, Any]) -> str:
    f1 = r["f1"]
    return (
        f"F1 cat 1-4 retrieved {100 * f1['retrieved']['cat_1_4']:.1f} / oracle"
        f" {100 * f1['oracle']['cat_1_4']:.1f} ({r['n']['cat_1_4']} questions);"
        f" {r['seconds_per_answer']} s per answer"
    )


@dataclass(frozen=True)
class Bench:
    """One benchmark: its module, the options that keep it in budget, its JSON, its summary line."""

    module: str
    args: tuple[str, ...]
    limit_s: int
    result: str | None = None
    summary: Callable[[dict[str, Any]], str] | None = None


# Ordered by what the targets need most; on a slow (busy) machine the last ones may not fit.
BENCHES = [
    Bench("load", ("--turns", "8"), 240, "load.json", _load),
    Bench(
        "generation",
        ("--reps", "4", "--ttft-reps", "10", "--cache-reps", "2", "--thread-rounds", "1"),
        360,
        "generation.json",
        _generation,
    ),
    Bench(
        "cold_start", ("--backend", "llamacpp", "--runs", "2"), 180, "cold_start_llamacpp.json", _cold_start
    ),
    # Others' benchmarks: their defaults where they say `make bench` runs them so; a smaller run that must
    # not replace their full-size section of RESULTS.md otherwise (--no-record).
    Bench("turn_overhead", (), 180, "turn_overhead.json"),
    Bench(
        "embed",
        ("--rounds", "30", "--batch-rounds", "2"),
        90,
        "embed.json",
        lambda r: (
            f"one query p50 torch {r['single']['torch']['p50_ms']} ms / onnx {r['single']['onnx']['p50_ms']}"
            f" ms (paired {r['single_paired_ratio_median']}x); cosine min {r['agreement']['cosine_min']:.6f}"
        ),
    ),
    Bench("ingest", ("--count", "128", "--repeats", "2", "--no-record"), 120),
    Bench("locomo", ("--limit", "2"), 120, "locomo_limit2.json"),
    # LongMemEval_s on its stratified subset; the whole set (1.5-2 h here) runs after this script in
    # `make bench` (Makefile), outside the 15-minute budget.
    Bench("longmemeval", ("--per-type", "2"), 240, "longmemeval_all_per2.json"),
    # Samantha against ChromaDB and Mem0 on the first 2 LoCoMo conversations (the full run: no --limit).
    Bench("peers", ("--limit", "2"), 240, "peers_limit2.json"),
    # End-to-end answers with the local model: 4 questions of one conversation (the default run is ~17 min).
    Bench(
        "locomo_answers",
        ("--limit", "1", "--per-conv", "1"),
        180,
        "locomo_answers_limit1_per1.json",
        _locomo_answers,
    ),
]


def run(bench: Bench, remaining_s: float) -> dict[str, Any]:
    """Run one benchmark as `python -m bench.NAME ARGS`, bounded by its limit and the time left."""
    if importlib.util.find_spec(f"bench.{bench.module}") is None:
        return {"status": "skipped: module not found"}
    limit = int(min(bench.limit_s, remaining_s))
    if limit < 30:
        return {"status": "skipped: 15-minute budget spent"}
    command = [sys.executable, "-m", f"bench.{bench.module}", *bench.args]
    print(f"\n=== {' '.join(command[1:])}  (limit {limit} s)", flush=True)
    started = time.perf_counter()
    try:
        code = subprocess.run(command, timeout=limit).returncode
        status = "ok" if code == 0 else f"failed (exit {code})"
    except subprocess.TimeoutExpired:
        status = f"stopped after {limit} s"
    out: dict[str, Any] = {"status": status, "runtime_s": round(time.perf_counter() - started, 1)}
    if status == "ok" and bench.result and bench.summary:
        try:
            out["summary"] = bench.summary(json.loads((RESULTS_DIR / bench.result).read_text()))
        except (OSError, KeyError, ValueError) as exc:
            out["summary"] = f"(no summary: {exc!r})"
    return out


def main() -> int:
    """Run everything (or --only some), print the summary, write bench/results/run_all.json."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", default=None, help="comma-separated module names, e.g. load,generation")
    args = parser.parse_args()
    chosen = [b for b in BENCHES if args.only is None or b.module in args.only.split(",")]
    started = time.perf_counter()
    results = {b.module: run(b, BUDGET_S - (time.perf_counter() - started)) for b in chosen}
    total = round(time.perf_counter() - started, 1)
    print(f"\n{'benchmark':14} {'status':28} {'time s':>7}  summary")
    for name, r in results.items():
        print(f"{name:14} {r['status']:28} {r.get('runtime_s', ''):>7}  {r.get('summary', '')}")
    verdict = "within" if total <= BUDGET_S else "OVER"
    print(f"total {total} s ({verdict} the {BUDGET_S // 60}-minute budget)")
    write_json(RESULTS_DIR / "run_all.json", {"benches": results, "total_s": total})
    return 0 if all(r["status"].startswith(("ok", "skipped")) for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
