"""Which general retrieval changes lift LoCoMo evidence recall? The product's recall with other settings,
and designs it does not have, over the same embedder.

Product variants run the product's own write and recall paths (bench.locomo.benchmark: a fresh
MemoryStore per conversation, memory/recall.py) with another RecallConfig or other embedded texts; the
default config is `make bench-memory` exactly. Designs the product cannot express (rank fusion, BM25 or
dense alone, other embedded texts for the lexical side, pseudo-relevance feedback...) are numpy + SQLite
FTS5 recipes (bench/locomo_retrieval.py). Turn vectors are embedded once per text format (cached in the
temp dir, keyed by content). Both are scored like bench.locomo (recall@5/@10, all and categories 1-4).
Time per query: for product rows the whole recall (query embedding, SQL, scoring); for recipes the
ranking alone (the query embedding they share is measured separately and printed).

    .venv/bin/python -m bench.locomo_experiments [--limit N] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import logging
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from bench import locomo, locomo_data, locomo_metrics, report
from bench.locomo_data import LocomoConversation, LocomoTurn
from bench.locomo_retrieval import Corpus, Recipe, rank
from memory.embedder import Embedder, load_embedder
from memory.recall import RecallConfig

log = logging.getLogger("bench.locomo_experiments")


def quoted(t: LocomoTurn) -> str:
    """Who said what (and the image they shared): the form the experiments embed."""
    text = " ".join(t.text.split())
    return f'{t.speaker} said, "{text}"' + (f" and shared {t.caption}." if t.caption else "")


def windows(turns: Sequence[LocomoTurn], before: int = 1, after: int = 1) -> list[str]:
    """Each turn with its neighbours of the same session, quoted, in order."""
    out = []
    for i, t in enumerate(turns):
        span = range(max(0, i - before), min(len(turns), i + after + 1))
        out.append(" ".join(quoted(turns[j]) for j in span if turns[j].when == t.when))
    return out


CACHE = Path(tempfile.gettempdir()) / "samantha-locomo-cache"


# The texts compared (embedded, or indexed by FTS5): name -> texts of one conversation's turns.
FORMATS: dict[str, Callable[[tuple[LocomoTurn, ...]], list[str]]] = {
    "stored": lambda ts: [locomo_data.stored_text(t) for t in ts],  # "[date] Speaker: said"
    "said": lambda ts: [locomo_data.said_text(t) for t in ts],  # the words alone
    "plain": lambda ts: [f"{t.speaker}: {locomo_data.said_text(t)}" for t in ts],
    "quoted": lambda ts: [quoted(t) for t in ts],
    "quoted_nocap": lambda ts: [f'{t.speaker} said, "{" ".join(t.text.split())}"' for t in ts],
    "prev1": lambda ts: windows(ts, 1, 0),
    "win1": lambda ts: windows(ts, 1, 1),
    "next1": lambda ts: windows(ts, 0, 1),
}
LEXICAL = ("stored", "plain", "win1")


def embed_cached(embedder: Embedder, texts: list[str]) -> np.ndarray:
    key = hashlib.sha256((embedder.name + "\x00" + "\x01".join(texts)).encode()).hexdigest()[:32]
    path = CACHE / f"{key}.npy"
    if path.is_file():
        cached: np.ndarray = np.load(path)
        return cached
    vectors = embedder.embed(texts)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def build(conv: LocomoConversation, embedder: Embedder, formats: set[str]) -> Corpus:
    texts = {name: FORMATS[name](conv.turns) for name in formats | set(LEXICAL)}
    vectors = {name: embed_cached(embedder, texts[name]) for name in formats}
    sessions = {w: i for i, w in enumerate(sorted({t.when for t in conv.turns}))}
    return Corpus(
        vectors,
        {n: texts[n] for n in LEXICAL},
        np.array([sessions[t.when] for t in conv.turns]),
        np.array([locomo_data.new_memory(t).importance for t in conv.turns]),
    )


# The product's recall with one thing changed: (name, config, embedded text). "product" embeds what the
# product embeds (memory.turns.embedded_text: Speaker said, "..."); other names are FORMATS.
Variant = tuple[str, RecallConfig, str]


def product_variants() -> list[Variant]:
    d = RecallConfig()
    return [
        ("product (default RecallConfig)", d, "product"),
        ("product, no strengthening (bench.locomo --isolate)", replace(d, strengthen=False), "product"),
        ("product, pool max(4k, 24) (an old copy had it)", replace(d, pool=24, pool_per_k=4), "product"),
        ("product, pool 40", replace(d, pool=40, pool_per_k=4), "product"),
        ("product, no neighbour lift (w_context 0)", replace(d, w_context=0.0), "product"),
        ("product, w_context 0.6", replace(d, w_context=0.6), "product"),
        ("product, bm25 weight 0.4", replace(d, w_lexical=0.4), "product"),
        ("product, bm25 weight 1.2", replace(d, w_lexical=1.2), "product"),
        ("product, no abstention floor", replace(d, min_relevance=0.0), "product"),
        ("product, no importance", replace(d, w_importance=0.0), "product"),
        ("product, no de-duplication", replace(d, duplicate_cosine=2.0), "product"),
        ("product, embed the stored line ([date] Speaker: said)", d, "stored"),
        ("product, embed the words alone (no speaker)", d, "said"),
    ]


def product_vectors(conv: LocomoConversation, embedder: Embedder, text: str) -> np.ndarray:
    """The turns' vectors as a product variant stores them."""
    if text == "product":  # as MemoryStore.remember_batch embeds them (one call per conversation)
        return embedder.embed([m.embed_text or "" for t in conv.turns for m in locomo_data.new_memories(t)])
    return embed_cached(embedder, FORMATS[text](conv.turns))


def evaluate_product(
    variant: Variant,
    convs: list[LocomoConversation],
    vectors: dict[str, list[np.ndarray]],
    embedder: Embedder,
) -> dict[str, Any]:
    """One variant through the product's write and recall paths (bench.locomo), summarised like a recipe."""
    name, config, text = variant
    result = asyncio.run(locomo.benchmark(convs, embedder, [5, 10], config, vectors=vectors[text]))
    return {
        "recipe": name,
        "through": "product",
        **{f"{m}_{g}": result[m][g] for m in ("recall_at_5", "recall_at_10") for g in ("all", "cat_1_4")},
        "ci95_recall_at_10_all": result["ci95"]["recall_at_10"]["all"],
        "rank_ms_p50": result["latency_ms"]["p50"],
    }


# The recommended recipe: dense cosine (turn embedded with its speaker) + 0.8 x BM25 over the turn in its
# context (previous, itself, next) / the query's best BM25, over the top 100 of each; then every turn
# gains 0.5 x the best score of an adjacent turn of the same session.
BEST = Recipe(
    "L4 = L3, BM25 over the context window, w 0.8 (BEST)",
    formats=("quoted",),
    w_lexical=0.8,
    lexical_text="win1",
    neighbour=0.5,
    pool=100,
)


def recipes() -> list[Recipe]:
    r = [Recipe(f"dense only, embed {f}", formats=(f,), fusion="dense") for f in FORMATS]
    r.append(Recipe("bm25 only (stored text)", fusion="bm25"))
    r.append(Recipe("bm25 only (context window)", fusion="bm25", lexical_text="win1"))
    for wl in (0.6, 1.0):
        r.append(Recipe(f"rrf k0=60, quoted + {wl} bm25", formats=("quoted",), fusion="rrf", w_lexical=wl))
    r.append(
        Recipe("rrf k0=10, quoted + 0.7 bm25", formats=("quoted",), fusion="rrf", w_lexical=0.7, rrf_k=10)
    )
    # The ladder from the earlier product (said text, word coverage: 49%) to the recipe the product now
    # follows, one change at a time.
    l1 = Recipe(
        "L1 said + 0.6 x bm25/best (not coverage), pool 100", formats=("said",), w_lexical=0.6, pool=100
    )
    l2 = replace(l1, name="L2 = L1, embed quoted (speaker said, ...)", formats=("quoted",))
    l3 = replace(l2, name="L3 = L2 + neighbour 0.5", neighbour=0.5)
    r += [l1, l2, l3, BEST]
    # What RecallConfig can say (weights, pool, floor, embedded text) is a product variant instead.
    variants: list[tuple[str, dict[str, Any]]] = [
        ("embed quoted without caption", {"formats": ("quoted_nocap",)}),
        ("dense max(quoted, prev+quoted)", {"formats": ("quoted", "prev1")}),
        ("+ product floor 0.28 (coverage of the turn alone)", {"min_relevance": 0.28}),
        ("+ session 0.1", {"session": 0.1}),
        ("+ pseudo-relevance feedback 0.3", {"prf": 0.3}),
        ("neighbour span 2", {"neighbour_span": 2}),
        ("bm25 over the stored text (no window)", {"lexical_text": "stored"}),
        ("coverage 0.5 instead of bm25", {"w_lexical": 0.0, "w_coverage": 0.5}),
    ]
    r += [replace(BEST, name=f"BEST, {label}", **changes) for label, changes in variants]
    return r


def evaluate(recipe: Recipe, corpora: list[Corpus], convs: list[LocomoConversation],
             qvecs: list[np.ndarray]) -> dict[str, Any]:  # fmt: skip
    outcomes, times = [], []
    for number, (corpus, conv, qv) in enumerate(zip(corpora, convs, qvecs, strict=True)):
        ids = [t.dia_id for t in conv.turns]
        for qi, q in enumerate(conv.questions):
            if not q.gold:
                continue
            t0 = time.perf_counter()
            top = rank(corpus, recipe, q.question, qv[qi], 10)
            times.append((time.perf_counter() - t0) * 1000)
            top5 = rank(corpus, recipe, q.question, qv[qi], 5)  # k changes the product's pools
            ranked = {5: [ids[i] for i in top5], 10: [ids[i] for i in top]}
            outcomes.append(locomo_metrics.outcome(number, q.category, q.gold, ranked))
    s = locomo_metrics.summarise(outcomes, (5, 10), resamples=200)
    return {
        "recipe": recipe.name,
        "through": "numpy",
        **{f"{m}_{g}": s[m][g]["mean"] for m in ("recall_at_5", "recall_at_10") for g in ("all", "cat_1_4")},
        "ci95_recall_at_10_all": s["recall_at_10"]["all"]["ci95"],
        "rank_ms_p50": float(np.median(times)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--limit", type=int, default=None, help="only the first N conversations")
    parser.add_argument(
        "--only", nargs="*", default=None, help="run recipes whose name contains any of these"
    )
    parser.add_argument("--no-record", action="store_true", help="do not update bench/RESULTS.md")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for name in ("sentence_transformers", "memory", "httpx"):
        logging.getLogger(name).setLevel(logging.WARNING)
    convs = locomo_data.load()[: args.limit] if args.limit else locomo_data.load()
    chosen = [r for r in recipes() if not args.only or any(o in r.name for o in args.only)]
    products = [v for v in product_variants() if not args.only or any(o in v[0] for o in args.only)]
    formats = {f for r in chosen for f in r.formats}
    embedder = load_embedder()
    probe = [q.question for c in convs[:1] for q in c.questions[:100]]
    embed_ms = []
    for text in probe:  # first: the embedder keeps recent texts, and these must not be among them yet
        t0 = time.perf_counter()
        embedder.embed([text])
        embed_ms.append((time.perf_counter() - t0) * 1000)
    texts = dict.fromkeys(text for _, _, text in products)  # each embedded text once, however many variants
    vectors = {text: [product_vectors(c, embedder, text) for c in convs] for text in texts}
    corpora = [build(c, embedder, formats) for c in convs] if chosen else []
    qvecs = [embed_cached(embedder, [q.question for q in c.questions]) for c in convs]
    rows = []
    for variant in products:
        rows.append(evaluate_product(variant, convs, vectors, embedder))
        log.info("%-40s R@10 all %.3f  cat1-4 %.3f", variant[0], rows[-1]["recall_at_10_all"],
                 rows[-1]["recall_at_10_cat_1_4"])  # fmt: skip
    for recipe in chosen:
        rows.append(evaluate(recipe, corpora, convs, qvecs))
        log.info("%-40s R@10 all %.3f  cat1-4 %.3f", recipe.name, rows[-1]["recall_at_10_all"],
                 rows[-1]["recall_at_10_cat_1_4"])  # fmt: skip
    rows.sort(key=lambda row: row["recall_at_10_all"], reverse=True)
    table = _table(rows, float(np.median(embed_ms)))
    print(table)
    if args.limit is None and not args.only:
        report.write_json(report.RESULTS_DIR / "locomo_experiments.json",
                          {"query_embed_ms_p50": float(np.median(embed_ms)), "rows": rows,
                           "machine": locomo_metrics.machine()})  # fmt: skip
        if not args.no_record:
            report.record_section("locomo-experiments", "## LoCoMo retrieval experiments\n\n" + table)
    return 0


def _table(rows: list[dict[str, Any]], embed_ms: float) -> str:
    lines = [
        "*product*: the product's own recall (memory/recall.py) with the RecallConfig or embedded text",
        "named, through bench.locomo's write and recall paths; its time is the whole recall (query embedding",
        "included), its CI from 1000 resamples. *numpy*: a design the product does not have",
        "(bench/locomo_retrieval.py); its time is the ranking alone (query embedding p50",
        f"{embed_ms:.1f} ms on top), its CI from 200 resamples.",
        "",
        "| # | variant | through | R@5 all | R@5 cat1-4 | R@10 all | R@10 cat1-4 | R@10 all CI | ms p50 |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for i, r in enumerate(rows, 1):
        lo, hi = r["ci95_recall_at_10_all"]
        lines.append(
            f"| {i} | {r['recipe']} | {r['through']} | "
            f"{100 * r['recall_at_5_all']:.1f} | {100 * r['recall_at_5_cat_1_4']:.1f} | "
            f"{100 * r['recall_at_10_all']:.1f} | {100 * r['recall_at_10_cat_1_4']:.1f} | "
            f"{100 * lo:.1f}-{100 * hi:.1f} | {r['rank_ms_p50']:.2f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
