"""Evidence recall@k and hit@k per category, conversation-bootstrap 95% CIs, latency percentiles."""

from __future__ import annotations

import os
import platform
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.locomo_data import CATEGORIES

GROUPS = ("all", "cat_1_4", *(f"cat_{c}" for c in CATEGORIES))


@dataclass(frozen=True)
class Outcome:
    """One question's result at every k: recall = |gold ∩ top-k| / |gold|, hit = any gold in top-k."""

    conversation: int
    category: int
    recall: dict[int, float]
    hit: dict[int, float]


def outcome(conversation: int, category: int, gold: frozenset[str], ranked: dict[int, list[str]]) -> Outcome:
    """Score the ranked dia_ids returned for each k against the gold evidence."""
    recall, hit = {}, {}
    for k, ids in ranked.items():
        found = len(gold & set(ids[:k]))
        recall[k] = found / len(gold)
        hit[k] = float(found > 0)
    return Outcome(conversation, category, recall, hit)


def in_group(o: Outcome, group: str) -> bool:
    if group == "all":
        return True
    if group == "cat_1_4":
        return 1 <= o.category <= 4
    return group == f"cat_{o.category}"


def _bootstrap(values: np.ndarray, convs: np.ndarray, resamples: int, seed: int) -> tuple[float, float]:
    """95% CI of the pooled mean when whole conversations are resampled with replacement."""
    ids = np.unique(convs)
    sums = np.array([values[convs == c].sum() for c in ids])
    counts = np.array([(convs == c).sum() for c in ids])
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(ids), size=(resamples, len(ids)))
    means = sums[picks].sum(axis=1) / np.maximum(counts[picks].sum(axis=1), 1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(lo), float(hi)


def summarise(
    outcomes: Sequence[Outcome], ks: Iterable[int], *, resamples: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Per metric (recall_at_k, hit_at_k) and group: mean, CI and question count."""
    out: dict[str, Any] = {}
    for k in ks:
        for metric in ("recall", "hit"):
            table: dict[str, Any] = {}
            for group in GROUPS:
                chosen = [o for o in outcomes if in_group(o, group)]
                if not chosen:
                    continue
                values = np.array([getattr(o, metric)[k] for o in chosen])
                convs = np.array([o.conversation for o in chosen])
                lo, hi = _bootstrap(values, convs, resamples, seed)
                table[group] = {"mean": float(values.mean()), "ci95": [lo, hi], "n": len(chosen)}
            out[f"{metric}_at_{k}"] = table
    return out


def percentiles(samples_ms: Sequence[float]) -> dict[str, float]:
    a = np.asarray(samples_ms)
    return {
        "p50": float(np.percentile(a, 50)),
        "p95": float(np.percentile(a, 95)),
        "mean": float(a.mean()),
        "n": len(a),
    }


def render(summary: dict[str, Any], ks: Sequence[int]) -> str:
    """A plain-text table: one row per group, recall and hit at each k (percent, with 95% CI)."""
    metrics = [f"{m}_at_{k}" for k in ks for m in ("recall", "hit")]
    head = f"{'group':<18}{'n':>6}  " + "  ".join(f"{m:>20}" for m in metrics)
    lines = [head, "-" * len(head)]
    for group in GROUPS:
        if group not in summary[metrics[0]]:
            continue
        n = summary[metrics[0]][group]["n"]
        label = (
            group
            if not group[-1].isdigit() or group == "cat_1_4"
            else f"{group} {CATEGORIES[int(group[-1])]}"
        )
        cells = []
        for m in metrics:
            cell = summary[m][group]
            lo, hi = cell["ci95"]
            cells.append(f"{100 * cell['mean']:5.1f} [{100 * lo:4.1f},{100 * hi:5.1f}]".rjust(20))
        lines.append(f"{label:<18}{n:>6}  " + "  ".join(cells))
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    """nproc, CPU model and RAM, for the record."""
    cpu = "unknown"
    ram_gb = 0.0
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
        mem_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
        ram_gb = round(mem_kb / 1024 / 1024, 1)
    except (OSError, StopIteration, ValueError):
        pass
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "ram_gb": ram_gb,
        "python": platform.python_version(),
    }
