"""Realistic memories at any scale, fast: real sentences embedded once, then noisy mixtures of them.

Embedding 1M texts with MiniLM would take hours here. Instead a few thousand real sentences (LoCoMo turns)
are embedded once (cached), and each synthetic memory is normalised(b_i + a·b_j + noise) with the text of
sentence i: nearest-neighbour cosines and word statistics like real conversation. Also: how much of the
exact top-k an (approximate) index finds.
"""

from __future__ import annotations

import hashlib
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from memory.embedder import Embedder
from memory.index import VectorIndex
from memory.write import NewMemory

NOISE = 0.7  # isotropic noise added to each mixture: keeps nearest-neighbour cosines near real ones (~0.7)


def sentences() -> tuple[list[str], list[str]]:
    """Base sentences (what a person says) and turn texts (questions and statements), from LoCoMo."""
    from bench import locomo_data

    try:
        conversations = locomo_data.load()
    except locomo_data.DataError as exc:
        raise SystemExit(f"needs ../shared/bench/locomo10.json: {exc}") from exc
    said = [locomo_data.said_text(t) for c in conversations for t in c.turns]
    questions = [q.question for c in conversations for q in c.questions]
    rng = np.random.default_rng(0)
    order = rng.permutation(len(said))
    base = [said[i] for i in order[:2000]]
    statements = [said[i] for i in order[2000:]]
    turns = [x for pair in zip(questions[::3], statements, strict=False) for x in pair]
    return base, turns


def base_vectors(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """Real embeddings of the base sentences, cached between runs (they take ~30 s)."""
    key = hashlib.sha256(("\n".join(texts) + embedder.name).encode()).hexdigest()[:16]
    cache = Path(tempfile.gettempdir()) / "samantha-bench" / f"base-{key}.npy"
    if cache.is_file():
        return np.load(cache)
    vectors = embedder.embed(texts)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, vectors)
    return vectors


def synthetic(n: int, base: np.ndarray, texts: list[str], seed: int) -> tuple[np.ndarray, list[NewMemory]]:
    """n memories: vector = normalised(b_i + a·b_j + noise), text = sentence i, dated over three years."""
    rng = np.random.default_rng(seed)
    i, j = rng.integers(0, len(base), n), rng.integers(0, len(base), n)
    vectors = np.empty((n, base.shape[1]), dtype=np.float32)
    for s in range(0, n, 100_000):
        e = min(n, s + 100_000)
        noise = rng.standard_normal((e - s, base.shape[1])).astype(np.float32)
        noise *= NOISE / np.linalg.norm(noise, axis=1, keepdims=True)
        mix = base[i[s:e]] + rng.uniform(0, 0.6, (e - s, 1)).astype(np.float32) * base[j[s:e]] + noise
        vectors[s:e] = mix / np.linalg.norm(mix, axis=1, keepdims=True)
    start = datetime(2023, 1, 1, tzinfo=UTC)
    days = np.sort(rng.integers(0, 3 * 365, n))
    importance = rng.uniform(0.2, 0.9, n).round(2)
    items = []
    for k in range(n):
        day = (start + timedelta(days=int(days[k]))).isoformat(timespec="seconds")
        kind = "fact" if k % 10 == 0 else "turn"
        text = f"[{day[:10]}] user: {texts[i[k]]} #{k}"  # the number keeps every text distinct
        items.append(NewMemory(text, kind, float(importance[k]), created_at=day))
    return vectors, items


def approximate_recall(
    index: VectorIndex, ids: np.ndarray, vectors: np.ndarray, queries: np.ndarray, pool: int
) -> dict[str, Any]:
    """Share of the exact top-k that the index returns (k = the recall pool, and 5), and search times."""
    _, rows = faiss.knn(queries, vectors, pool, metric=faiss.METRIC_INNER_PRODUCT)
    exact = ids[rows]
    found = [[i for i, _ in index.search(q, pool)] for q in queries]

    def share(k: int) -> float:
        return float(np.mean([len(set(f[:k]) & set(e[:k])) / k for f, e in zip(found, exact, strict=True)]))

    searched, brute = [], []
    faiss.omp_set_num_threads(1)
    for q in queries[:50]:
        t = time.perf_counter()
        index.search(q, pool)
        searched.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        faiss.knn(q.reshape(1, -1), vectors, pool, metric=faiss.METRIC_INNER_PRODUCT)
        brute.append((time.perf_counter() - t) * 1000)
    faiss.omp_set_num_threads(len(os.sched_getaffinity(0)))
    return {
        "approximate": index.approximate,
        f"recall_at_{pool}": round(share(pool), 4),
        "recall_at_5": round(share(5), 4),
        "search_ms_p50": round(statistics.median(searched), 2),
        "exact_search_ms_p50": round(statistics.median(brute), 2),
    }
