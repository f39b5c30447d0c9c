"""End-to-end answers on LoCoMo categories 1-4 with the local model: reported, not gated.

Each conversation is written to a fresh MemoryStore exactly as bench/locomo.py writes it (every turn through
locomo_data.new_memory and MemoryStore.remember_batch). Each chosen question is then answered twice, with
Samantha's own prompt (persona.prompt.build_messages, the persona file, the question as the user message,
plus a short-answer instruction) and the product's llama.cpp backend, greedy:
  retrieved - the memories the product recalls (top 10, in recall order), as a turn would pass them;
  oracle    - the gold evidence turns (their stored texts, in conversation order) instead.
Both are scored with LoCoMo's token F1 (bench/locomo_f1.py). oracle - retrieved is what retrieval misses
cost; what the oracle still misses is reading. Means are weighted back to the full question set when only
some questions are asked; 95% CIs resample whole conversations.

    .venv/bin/python -m bench.locomo_answers [--limit N] [--per-conv M] [--out PATH] [--no-record]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from app.backends import Backend, create_backend
from app.config import Settings
from bench import locomo_data, locomo_f1, locomo_metrics, report
from bench.locomo_data import CATEGORIES, DataError, LocomoConversation, LocomoQuestion
from memory.embedder import load_embedder
from memory.store import MemoryStore
from persona.messages import GenParams
from persona.persona import Persona, load_persona
from persona.prompt import PromptMemory, build_messages

log = logging.getLogger("bench.locomo_answers")
COMMAND = ".venv/bin/python -m bench.locomo_answers"
K = 10
# The default run: all 10 conversations, 1 question per category each (40 questions, 80 answers): ~17 min
# here at 11-12 s an answer with the 2 cores busy (2.5-4 s when quiet); --per-conv 2 takes about twice that.
PER_CONV = 1
MAX_TOKENS = 32
INSTRUCTION = "Answer the question in a few words, using the memories; give dates as written in them."
GROUPS = ("cat_1", "cat_2", "cat_3", "cat_4", "cat_1_4")


@dataclass(frozen=True)
class Row:
    """One question answered both ways; `weight`: how many questions of its conversation and category it
    stands for."""

    conversation: int
    category: int
    question: str
    gold: str
    retrieved: str
    oracle: str
    f1_retrieved: float
    f1_oracle: float
    evidence_in_top_k: bool
    weight: float


@dataclass(frozen=True)
class Reader:
    """Samantha answering one question from given memories: the product's prompt and backend."""

    backend: Backend
    persona: Persona
    params: GenParams
    context_tokens: int

    async def answer(self, memories: Sequence[str], question: str, today: str) -> str:
        messages = build_messages(
            self.persona,
            [PromptMemory(text) for text in memories],
            [],
            question,
            budget=self.context_tokens - self.params.max_tokens,
            today=today,
            count_tokens=self.backend.count_tokens,
            extra_system=INSTRUCTION,
        )
        return "".join([delta async for delta in self.backend.generate(messages, self.params)]).strip()


def choose(
    conv: LocomoConversation, answers: Sequence[object], per_conv: int
) -> list[tuple[LocomoQuestion, object, float]]:
    """Up to `per_conv` questions of each category 1-4 with evidence, evenly spaced in file order, each
    with the answer and its weight (how many of the category's questions it stands for); 0 takes all."""
    chosen = []
    for category in (1, 2, 3, 4):
        pool = [(q, a) for q, a in zip(conv.questions, answers, strict=True) if q.category == category]
        pool = [(q, a) for q, a in pool if q.gold]  # without evidence there is no oracle to compare with
        take = len(pool) if per_conv <= 0 else min(per_conv, len(pool))
        for i in range(take):
            q, a = pool[i * len(pool) // take]
            chosen.append((q, a, len(pool) / take))
    return chosen


async def run_conversation(
    store: MemoryStore, reader: Reader, number: int, conv: LocomoConversation, answers: Sequence[object],
    per_conv: int, seconds: list[float],
) -> list[Row]:  # fmt: skip
    """Ingest one conversation as its own user, then answer its chosen questions both ways."""
    user = f"locomo-{number}"
    made = await locomo_data.ingest(store, user, conv.turns)
    stored: dict[str, str] = {}  # dia_id -> what was stored of it (its passages, in order)
    for d, m in made:
        stored[d] = f"{stored[d]} {m.text}" if d in stored else m.text
    dia = {m.id: d for d, m in made}
    order = {t.dia_id: t.position for t in conv.turns}
    today = conv.turns[-1].created_at[:10]  # the questions come after the last session

    rows = []
    for q, answer, weight in choose(conv, answers, per_conv):
        recalled = await store.recall(user, q.question, k=K)
        evidence = [stored[d] for d in sorted(q.gold, key=order.__getitem__) if d in stored]
        started = time.perf_counter()
        retrieved = await reader.answer([r.memory.text for r in recalled], q.question, today)
        middle = time.perf_counter()
        oracle = await reader.answer(evidence, q.question, today)
        seconds += [middle - started, time.perf_counter() - middle]
        rows.append(
            Row(
                conversation=number,
                category=q.category,
                question=q.question,
                gold=locomo_f1.gold_answer(q.category, answer),
                retrieved=retrieved,
                oracle=oracle,
                f1_retrieved=locomo_f1.score(q.category, retrieved, answer),
                f1_oracle=locomo_f1.score(q.category, oracle, answer),
                evidence_in_top_k=any(dia.get(r.memory.id) in q.gold for r in recalled),
                weight=weight,
            )
        )
    return rows


def weighted_ci(
    values: np.ndarray, weights: np.ndarray, convs: np.ndarray, *, resamples: int = 1000, seed: int = 0
) -> tuple[float, float, float]:
    """Weighted mean and its 95% CI, resampling whole conversations (locomo_metrics' bootstrap with
    weights; with all weights 1 it draws the same resamples and gives the same interval)."""
    ids = np.unique(convs)
    sums = np.array([(values * weights)[convs == c].sum() for c in ids])
    totals = np.array([weights[convs == c].sum() for c in ids])
    picks = np.random.default_rng(seed).integers(0, len(ids), size=(resamples, len(ids)))
    means = sums[picks].sum(axis=1) / np.maximum(totals[picks].sum(axis=1), 1e-12)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(sums.sum() / totals.sum()), float(lo), float(hi)


def summarise(rows: Sequence[Row]) -> dict[str, Any]:
    """Per run (retrieved, oracle, gap = oracle - retrieved) and group: weighted mean F1 and CI."""
    f1: dict[str, dict[str, float]] = {"retrieved": {}, "oracle": {}, "gap": {}}
    ci: dict[str, dict[str, list[float]]] = {"retrieved": {}, "oracle": {}, "gap": {}}
    n: dict[str, int] = {}
    represents: dict[str, int] = {}
    for group in GROUPS:
        chosen = [r for r in rows if group == "cat_1_4" or group == f"cat_{r.category}"]
        if not chosen:
            continue
        weights = np.array([r.weight for r in chosen])
        convs = np.array([r.conversation for r in chosen])
        retrieved = np.array([r.f1_retrieved for r in chosen])
        oracle = np.array([r.f1_oracle for r in chosen])
        for run, values in (("retrieved", retrieved), ("oracle", oracle), ("gap", oracle - retrieved)):
            mean, lo, hi = weighted_ci(values, weights, convs)
            f1[run][group] = mean
            ci[run][group] = [lo, hi]
        n[group] = len(chosen)
        represents[group] = round(float(weights.sum()))
    return {"f1": f1, "ci95": ci, "n": n, "represents": represents}


def split_by_hit(rows: Sequence[Row]) -> dict[str, dict[str, float]]:
    """Retrieved F1 (unweighted) when a gold turn was in the top k and when none was."""
    out = {}
    for name, hit in (("evidence_in_top_k", True), ("evidence_not_in_top_k", False)):
        part = [r for r in rows if r.evidence_in_top_k == hit]
        out[name] = {
            "n": len(part),
            "f1_retrieved": float(np.mean([r.f1_retrieved for r in part])) if part else 0.0,
            "f1_oracle": float(np.mean([r.f1_oracle for r in part])) if part else 0.0,
        }
    return out


def examples(rows: Sequence[Row], count: int = 5) -> list[dict[str, Any]]:
    """`count` rows evenly spaced through the run, so readers see what the model does."""
    picks = sorted({i * (len(rows) - 1) // max(count - 1, 1) for i in range(count)}) if rows else []
    return [asdict(rows[i]) for i in picks]


async def benchmark(conversations: list[LocomoConversation], answers: list[list[object]], per_conv: int,
                    subset: str) -> dict[str, Any]:  # fmt: skip
    commit = report.commit()
    settings = Settings(backend="llamacpp", seeds_dir=None)
    params = GenParams(max_tokens=MAX_TOKENS, temperature=0.0, repeat_penalty=settings.repeat_penalty)
    embedder = await asyncio.to_thread(load_embedder)
    backend = await asyncio.to_thread(create_backend, settings)
    reader = Reader(backend, load_persona(settings.persona_file), params, settings.context_tokens)
    rows: list[Row] = []
    seconds: list[float] = []
    started = time.perf_counter()
    try:
        for number, conv in enumerate(conversations):
            with tempfile.TemporaryDirectory(prefix="samantha-locomo-answers-") as tmp:
                store = await MemoryStore.open(Path(tmp), embedder)
                try:
                    got = await run_conversation(
                        store, reader, number, conv, answers[number], per_conv, seconds
                    )
                finally:
                    await store.aclose()
            rows += got
            log.info("%s: %d questions, F1 retrieved %.3f, oracle %.3f (%.2f s per answer so far)",
                     conv.sample_id, len(got), np.mean([r.f1_retrieved for r in got]),
                     np.mean([r.f1_oracle for r in got]), np.mean(seconds))  # fmt: skip
    finally:
        await backend.aclose()
    result: dict[str, Any] = summarise(rows)
    result["subset"] = subset
    result["seconds_per_answer"] = round(float(np.mean(seconds)), 3)
    result["timing"] = {
        "answers": len(seconds),
        "seconds_per_answer_p50": round(float(np.median(seconds)), 3),
        "seconds_per_answer_retrieved": round(float(np.mean(seconds[0::2])), 3),
        "seconds_per_answer_oracle": round(float(np.mean(seconds[1::2])), 3),
        "wall_s": round(time.perf_counter() - started, 1),
        "measured": "prompt build + generation of one answer; recall and ingest not included",
    }
    result["by_retrieval"] = split_by_hit(rows)
    result["examples"] = examples(rows)
    result["meta"] = {
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": locomo_metrics.machine(),
        "commit": commit,
        "model": backend.model_name,
        "embedder": embedder.name,
        "generation": {**asdict(params), "n_ctx": settings.context_tokens, "threads": settings.threads},
        "instruction": INSTRUCTION,
        "k": K,
        "today": "the date of the conversation's last session",
        "weights": "each question stands for the questions of its conversation and category it was "
        "chosen from (full set: all weights 1)",
        "bootstrap": "1000 resamples of conversations, seed 0, percentile 95% CI",
        "loadavg_1m_at_end": round(os.getloadavg()[0], 2),
    }
    result["rows"] = [asdict(r) for r in rows]
    return result


def render(result: dict[str, Any]) -> str:
    """A plain-text table: F1 (percent, 95% CI) per category for both runs and their gap."""
    head = f"{'group':<18}{'n':>5}{'of':>6}  " + "  ".join(
        f"{run:>20}" for run in ("retrieved", "oracle", "gap")
    )
    lines = [head, "-" * len(head)]
    for group in result["n"]:
        label = group if group == "cat_1_4" else f"{group} {CATEGORIES[int(group[-1])]}"
        cells = []
        for run in ("retrieved", "oracle", "gap"):
            lo, hi = result["ci95"][run][group]
            mean = result["f1"][run][group]
            cells.append(f"{100 * mean:5.1f} [{100 * lo:5.1f},{100 * hi:5.1f}]".rjust(20))
        lines.append(
            f"{label:<18}{result['n'][group]:>5}{result['represents'][group]:>6}  " + "  ".join(cells)
        )
    return "\n".join(lines)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|") or "(empty)"


def markdown(result: dict[str, Any], command: str) -> str:
    """The RESULTS.md section: command, machine, date, subset, the table and five example answers."""
    m, mach, t = result["meta"], result["meta"]["machine"], result["timing"]
    hit, miss = result["by_retrieval"]["evidence_in_top_k"], result["by_retrieval"]["evidence_not_in_top_k"]
    lines = [
        "## LoCoMo end-to-end answers, categories 1-4: retrieved top 10 vs gold evidence (not gated)",
        "",
        f"`{command}` — {m['date']}, commit {m['commit']}, {mach['nproc']} cores ({mach['cpu']}), "
        f"{mach['ram_gb']} GB RAM; model {m['model']} (greedy, max {m['generation']['max_tokens']} tokens, "
        f"repeat penalty {m['generation']['repeat_penalty']}), embedder {m['embedder']}.",
        "",
        f"Subset: {result['subset']}.",
        "",
        "LoCoMo's token F1 in percent (the paper's normalisation and Porter stemming; category 1 as "
        "multi-answer F1, category 3 against the part of the gold before ';'), weighted back to the full "
        "question set, 95% CI from resampling conversations. *retrieved*: Samantha's prompt with the "
        "product's recall top 10; *oracle*: the same prompt with the gold evidence turns; *gap* = oracle - "
        "retrieved. n = questions asked, of = questions they stand for.",
        "",
        "| group | n | of | retrieved | oracle | gap |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for group in result["n"]:
        label = group if group == "cat_1_4" else f"{group} {CATEGORIES[int(group[-1])]}"
        cells = []
        for run in ("retrieved", "oracle", "gap"):
            lo, hi = result["ci95"][run][group]
            cells.append(f"{100 * result['f1'][run][group]:.1f} [{100 * lo:.1f}, {100 * hi:.1f}]")
        lines.append(
            f"| {label} | {result['n'][group]} | {result['represents'][group]} | " + " | ".join(cells) + " |"
        )
    lines += [
        "",
        f"Retrieved F1 (unweighted) when a gold turn was in the top 10: {100 * hit['f1_retrieved']:.1f} "
        f"(n={hit['n']}, oracle {100 * hit['f1_oracle']:.1f}); "
        f"when none was: {100 * miss['f1_retrieved']:.1f} "
        f"(n={miss['n']}, oracle {100 * miss['f1_oracle']:.1f}). "
        f"{result['seconds_per_answer']:.2f} s per answer (mean of {t['answers']}, p50 "
        f"{t['seconds_per_answer_p50']:.2f} s; 1-min load average at the end {m['loadavg_1m_at_end']}); "
        f"whole run {t['wall_s'] / 60:.1f} min.",
        "",
        "Examples (evenly spaced through the run):",
        "",
        "| cat | question | gold | retrieved answer (F1) | oracle answer (F1) |",
        "|---|---|---|---|---|",
    ]
    for e in result["examples"]:
        lines.append(
            f"| {e['category']} | {_cell(e['question'])} | {_cell(e['gold'])} | "
            f"{_cell(e['retrieved'])} ({e['f1_retrieved']:.2f}) | "
            f"{_cell(e['oracle'])} ({e['f1_oracle']:.2f}) |"
        )
    return "\n".join(lines)


def load_answers(path: Path, conversations: list[LocomoConversation]) -> list[list[object]]:
    """The gold answers, question for question (bench.locomo_data keeps only what retrieval needs)."""
    answers = []
    for sample, conv in zip(json.loads(locomo_data.verify(path)), conversations, strict=True):
        qa = sample["qa"]
        if [q["question"] for q in qa] != [q.question for q in conv.questions]:
            raise DataError(f"{conv.sample_id}: questions do not line up with bench.locomo_data's")
        answers.append([q.get("answer", "") for q in qa])
    return answers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--limit", type=int, default=None, help="only the first N conversations")
    parser.add_argument(
        "--per-conv",
        type=int,
        default=PER_CONV,
        help=f"questions per category per conversation, evenly spaced; 0 = all (default {PER_CONV})",
    )
    parser.add_argument("--data", type=Path, default=locomo_data.DATA_PATH, help="path to locomo10.json")
    parser.add_argument("--out", type=Path, default=None, help="JSON output (default bench/results/...)")
    parser.add_argument("--no-record", action="store_true", help="do not update bench/RESULTS.md")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for name in ("sentence_transformers", "memory", "httpx"):
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        conversations = locomo_data.load(args.data)
        answers = load_answers(args.data, conversations)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    total = len(conversations)
    conversations = conversations[: args.limit] if args.limit else conversations
    per = (
        "all questions"
        if args.per_conv <= 0
        else f"at most {args.per_conv} question{'s' if args.per_conv != 1 else ''}"
    )
    subset = (
        f"{len(conversations)} of {total} conversations; {per} of each category 1-4 per conversation "
        "(evenly spaced in file order, only questions with evidence)"
    )
    result = asyncio.run(benchmark(conversations, answers, args.per_conv, subset))
    print(render(result))
    print(f"\n{result['seconds_per_answer']:.2f} s per answer; {subset}")
    # A run over every conversation is the one reported (its section states the subset); others are trials.
    full = len(conversations) == total and args.data == locomo_data.DATA_PATH
    name = "locomo_answers" + ("" if full else f"_limit{len(conversations)}_per{args.per_conv}")
    out = args.out or report.RESULTS_DIR / f"{name}.json"
    report.write_json(out, result)
    print(f"wrote {out}")
    if full and not args.no_record:
        command = COMMAND + ("" if args.per_conv == PER_CONV else f" --per-conv {args.per_conv}")
        report.record_section("locomo_answers", markdown(result, command))
        print(f"recorded in {report.RESULTS_MD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
