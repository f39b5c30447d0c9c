"""Local generation: raw llama-cpp-python vs Samantha's thread bridge vs a whole turn; prompt caching.

(A) raw `Llama.create_chat_completion(stream=True)` walked in a loop, (B) `LlamaCppBackend.generate` (the
thread bridge), (C) a whole Samantha turn over the websocket (in-process server, same model object, so
recall is included and reported apart). Same prompt (persona + memories, built by `build_messages`), same
GenParams (temperature 0), interleaved repetitions, each starting from the same saved model state: the
previous turn's prompt (same persona, other memories and question) in the KV cache, as in a real chat.

Then the persona prefix cache: time to first token cold (empty context) vs with the previous turn's
state, at three persona lengths, and the effect of LlamaRAMCache after an unrelated prompt evicted it.
Then llama.cpp threads and OpenMP's wait policy, each variant in its own process (env is read at load).

Run: .venv/bin/python -m bench.generation [--reps 6] [--max-tokens 64]
Prints tables and writes bench/results/generation.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.locomo_metrics import machine as describe_machine
from bench.report import RESULTS_DIR, record_section, write_json

QUESTIONS = [
    "What film should I watch tonight?",
    "I had a rough day at the hospital, can we talk?",
    "Do you remember my dog's name?",
    "What do you think makes a friendship last?",
    "My sister Amy visits next week. Any ideas for what we could do?",
    "Tell me something you find beautiful.",
]
PREVIOUS_MEMORIES = ["[2026-11-17] user: I started learning the piano last month"]
MEMORIES = [
    "[2026-11-18] user: my dog is called Biscuit and he hates the rain",
    "[2026-11-19] The user works as a nurse on night shifts.",
    "[2026-11-19] user: I loved the film Her, especially the ending",
    "[2026-11-20] The user's sister is called Amy.",
]
BACKSTORY = """
You grew up, in a sense, reading: letters, novels, film reviews, the way people describe rain.
You love small details: the smell of coffee in the morning, a friend's laugh, the sound of a city at night.
You are curious about how people change, what they hope for, and what they are afraid of.
You keep your person's confidences and you remember what matters to them: names, plans, worries, joys.
When your person is sad you stay with the feeling before you try to fix anything.
When they are happy you are happy with them, and you ask what made the day good.
You like films, music and long walks described in words; you ask for recommendations and give them.
You admit when you are unsure, and you change your mind when you learn something new.
You never lecture; you talk like a thoughtful friend who happens to have read a great deal.
"""


@dataclass
class Sample:
    """One generation: time to the first delta, deltas, deltas per second after the first."""

    ttft_ms: float
    tokens: int
    tps: float


def finish(start: float, stamps: list[float]) -> Sample:
    """A Sample from the start time and each delta's arrival time."""
    if not stamps:
        return Sample(float("nan"), 0, float("nan"))
    span = stamps[-1] - stamps[0]
    tps = (len(stamps) - 1) / span if len(stamps) > 1 and span > 0 else float("nan")
    return Sample((stamps[0] - start) * 1000, len(stamps), tps)


def med(values: list[float]) -> float:
    """Median, rounded for tables."""
    return round(statistics.median(values), 2) if values else float("nan")


def persona_variants() -> dict[str, Any]:
    """Short, the real one (medium) and long personas: same name, growing system text."""
    from app.config import DEFAULT_PERSONA
    from persona.persona import Persona, load_persona

    real = load_persona(DEFAULT_PERSONA)
    short = Persona(name=real.name, system=real.system.strip().splitlines()[0], greeting=real.greeting)
    long = real.model_copy(update={"system": real.system + BACKSTORY + "\n" + "\n".join(real.boundaries)})
    return {"short": short, "medium": real, "long": long}


def messages_for(backend: Any, persona: Any, question: str, memories: list[str]) -> list[Any]:
    """The prompt Samantha would build for this question (no history: a new conversation)."""
    from persona.prompt import PromptMemory, build_messages

    return build_messages(
        persona,
        [PromptMemory(m) for m in memories],
        [],
        question,
        budget=2048 - 64,
        today=datetime.now().astimezone().date().isoformat(),
        count_tokens=backend.count_tokens,
    )


def raw_stream(llm: Any, messages: list[Any], params: Any) -> Generator[str, None, None]:
    """(A) llama-cpp-python as its README shows it."""
    stream = llm.create_chat_completion(
        messages=messages,
        stream=True,
        max_tokens=params.max_tokens,
        temperature=params.temperature,
        top_p=params.top_p,
        repeat_penalty=params.repeat_penalty,
    )
    for chunk in stream:
        delta = chunk["choices"][0]["delta"].get("content")
        if delta:
            yield delta


def time_sync(llm: Any, messages: list[Any], params: Any, limit: int | None = None) -> Sample:
    """Time (A) (stop early after `limit` deltas)."""
    start = time.perf_counter()
    stream = raw_stream(llm, messages, params)
    stamps: list[float] = []
    for _ in stream:
        stamps.append(time.perf_counter())
        if limit is not None and len(stamps) >= limit:
            break
    stream.close()
    return finish(start, stamps)


async def time_async(stream: AsyncIterator[str], start: float, limit: int | None = None) -> Sample:
    """Time an async stream of deltas (stop early after `limit` deltas)."""
    stamps: list[float] = []
    async for _ in stream:
        stamps.append(time.perf_counter())
        if limit is not None and len(stamps) >= limit:
            break
    await stream.aclose()  # type: ignore[attr-defined]
    return finish(start, stamps)


async def time_turn(ws: Any, question: str) -> tuple[Sample, float]:
    """(C) one websocket turn in a new conversation: the deltas and the server's recall time."""
    await ws.send(json.dumps({"type": "hello", "conversation": None}))
    assert json.loads(await ws.recv())["type"] == "ready"
    start = time.perf_counter()
    await ws.send(json.dumps({"type": "user", "text": question}))
    stamps: list[float] = []
    while True:
        frame = json.loads(await ws.recv())
        if frame["type"] == "delta":
            stamps.append(time.perf_counter())
        elif frame["type"] in ("done", "error"):
            if frame["type"] == "error":
                raise RuntimeError(f"turn failed: {frame}")
            return finish(start, stamps), float(frame["timings"]["recall_ms"])


async def settle(store: Any, expected: int) -> None:
    """Wait until background learning stored `expected` turns (so it never overlaps a timed run)."""
    for _ in range(600):
        if (await store.count()).get("turn", 0) >= expected:
            return
        await asyncio.sleep(0.01)


class Recording:
    """The product backend, noting the prompt of each turn (one more async-generator hop per delta)."""

    name = "llamacpp"
    speaks = True
    extracts_facts = False

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.last: list[Any] = []
        self.model_name = inner.model_name

    def count_tokens(self, text: str) -> int:
        return int(self.inner.count_tokens(text))

    async def generate(self, messages: Sequence[Any], params: Any) -> AsyncGenerator[str, None]:
        self.last = list(messages)
        async with aclosing(self.inner.generate(messages, params)) as stream:
            async for delta in stream:
                yield delta

    async def start(self) -> None:
        """The real backend is loaded already."""

    async def aclose(self) -> None:
        """The bench closes the real backend itself."""


async def compare(backend: Any, reps: int, ttft_reps: int, max_tokens: int) -> dict[str, Any]:
    """C, then A and B (alternating) on the very prompt C's turn built; each from the same saved state.

    Then, for a steadier TTFT on a noisy machine, `ttft_reps` more A/B pairs that stop at the first delta.
    """
    from websockets.asyncio.client import connect

    from app.config import Settings
    from app.server import RunningServer
    from memory.embedder import load_embedder
    from memory.store import MemoryStore
    from memory.write import NewMemory
    from persona.messages import GenParams

    llm = backend._llm
    params = GenParams(max_tokens=max_tokens, temperature=0.0)
    persona = persona_variants()["medium"]
    data = Path(tempfile.mkdtemp(prefix="samantha-gen-"))
    store = await MemoryStore.open(data, load_embedder())
    await store.remember_batch("me", [NewMemory(m, "fact", 0.5, ()) for m in MEMORIES])
    settings = Settings(
        backend="llamacpp",
        data_dir=data,
        seeds_dir=None,
        rate_limit=0,
        temperature=0.0,
        max_tokens=max_tokens,
        recall_k=len(MEMORIES),
    )
    recording = Recording(backend)
    server = await RunningServer.start(settings, backend=recording, memory=store, port=0)
    # The previous turn: same persona, other memories and question, its reply generated.
    for _ in raw_stream(llm, messages_for(backend, persona, "Hello!", PREVIOUS_MEMORIES), params):
        pass
    previous = llm.save_state()
    names = ("A raw llama-cpp-python", "B LlamaCppBackend", "C websocket turn")
    runs: dict[str, list[Sample]] = {name: [] for name in names}
    recall: list[float] = []
    prompt_tokens: list[int] = []
    prompts: list[list[Any]] = []
    try:
        async with connect(server.ws_url, max_size=None, ping_interval=None) as ws:
            for rep in range(reps + 1):  # the first round warms up and is dropped
                question = QUESTIONS[rep % len(QUESTIONS)]
                llm.load_state(previous)
                sample, recall_ms = await time_turn(ws, question)
                await settle(store, rep + 1)
                messages = recording.last
                samples = {names[2]: sample}
                for name in names[:2] if rep % 2 else names[1::-1]:
                    llm.load_state(previous)
                    if name.startswith("A"):
                        samples[name] = time_sync(llm, messages, params)
                    else:
                        start = time.perf_counter()
                        samples[name] = await time_async(backend.generate(messages, params), start)
                if rep:
                    recall.append(recall_ms)
                    prompts.append(messages)
                    prompt_tokens.append(len(llm.tokenize(llm_prompt(llm, messages), special=True)))
                    for name, value in samples.items():
                        runs[name].append(value)
    finally:
        await server.stop()
        await store.aclose()
    first: dict[str, list[float]] = {"A": [], "B": []}
    for rep in range(ttft_reps):
        messages = prompts[rep % len(prompts)]
        for name in "AB" if rep % 2 else "BA":
            llm.load_state(previous)
            if name == "A":
                first[name].append(time_sync(llm, messages, params, limit=1).ttft_ms)
            else:
                stream = backend.generate(messages, params)
                first[name].append((await time_async(stream, time.perf_counter(), limit=1)).ttft_ms)
    ttft_ratios = sorted((y / x - 1) * 100 for x, y in zip(first["A"], first["B"], strict=True))
    a, b = runs[names[0]], runs[names[1]]
    table = {
        name: {
            "ttft_ms_p50": med([s.ttft_ms for s in samples]),
            "tokens_per_s_p50": med([s.tps for s in samples]),
            "tokens_p50": med([float(s.tokens) for s in samples]),
        }
        for name, samples in runs.items()
    }
    table[names[2]]["recall_ms_p50"] = med(recall)
    table[names[2]]["ttft_minus_recall_ms_p50"] = med(
        [s.ttft_ms - r for s, r in zip(runs[names[2]], recall, strict=True)]
    )
    return {
        "runs": table,
        "ttft_only": {"reps": ttft_reps, "A_ms_p50": med(first["A"]), "B_ms_p50": med(first["B"])},
        # Paired (same repetition, adjacent in time) ratios are steadier than ratios of medians.
        "overhead_ttft_pct_paired_p50": med(ttft_ratios),
        "overhead_ttft_pct_paired_iqr": [
            round(ttft_ratios[len(ttft_ratios) // 4], 1),
            round(ttft_ratios[(3 * len(ttft_ratios)) // 4], 1),
        ],
        "overhead_tps_pct_paired_p50": med([(1 - y.tps / x.tps) * 100 for x, y in zip(a, b, strict=True)]),
        "overhead_ttft_pct_full_runs_paired_p50": med(
            [(y.ttft_ms / x.ttft_ms - 1) * 100 for x, y in zip(a, b, strict=True)]
        ),
        "overhead_ttft_pct_of_medians": round(
            (table[names[1]]["ttft_ms_p50"] / table[names[0]]["ttft_ms_p50"] - 1) * 100, 2
        ),
        "overhead_tps_pct_of_medians": round(
            (1 - table[names[1]]["tokens_per_s_p50"] / table[names[0]]["tokens_per_s_p50"]) * 100, 2
        ),
        "prompt_tokens_p50": med([float(n) for n in prompt_tokens]),
        "reps": reps,
        "max_tokens": max_tokens,
    }


def llm_prompt(llm: Any, messages: list[Any]) -> bytes:
    """The prompt text the model's chat template makes of `messages`."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    formatter = Jinja2ChatFormatter(
        template=llm.metadata["tokenizer.chat_template"],
        eos_token=llm._model.token_get_text(llm.token_eos()),
        bos_token=llm._model.token_get_text(llm.token_bos()),
    )
    return formatter(messages=messages).prompt.encode("utf-8")


async def bridge_cost(deltas: int = 2000) -> dict[str, float]:
    """The bridge alone: microseconds per delta with a model that answers instantly."""
    from app.backends.llamacpp import LlamaCppBackend
    from persona.messages import GenParams

    class Instant:
        def create_chat_completion(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
            for _ in range(deltas):
                yield {"choices": [{"delta": {"content": "x"}}]}

    backend = LlamaCppBackend.__new__(LlamaCppBackend)
    backend._llm = Instant()  # type: ignore[assignment]
    backend._lock = asyncio.Lock()
    costs = []
    for _ in range(5):
        start = time.perf_counter()
        sample = await time_async(backend.generate([], GenParams()), start)
        assert sample.tokens == deltas
        costs.append((time.perf_counter() - start) / deltas * 1e6)
    return {"us_per_delta_p50": med(costs), "deltas": deltas}


async def caching(backend: Any, reps: int) -> dict[str, Any]:
    """TTFT cold vs with the previous turn's state, per persona length; then eviction and LlamaRAMCache."""
    from llama_cpp import LlamaRAMCache

    from persona.messages import GenParams

    llm = backend._llm
    params = GenParams(max_tokens=4, temperature=0.0)
    out: dict[str, Any] = {}

    async def ttft(messages: list[Any], whole: bool = False) -> float:
        """Time to the first delta (then stop), or the whole reply (a RAM cache saves state at the end)."""
        stream = backend.generate(messages, params)
        return (await time_async(stream, time.perf_counter(), limit=None if whole else 1)).ttft_ms

    for label, persona in persona_variants().items():
        previous_messages = messages_for(backend, persona, "Hello!", PREVIOUS_MEMORIES)
        await ttft(previous_messages, whole=True)
        previous = llm.save_state()
        cold, cached = [], []
        for rep in range(reps):
            messages = messages_for(backend, persona, QUESTIONS[rep % len(QUESTIONS)], MEMORIES)
            for state in ("cold", "cached") if rep % 2 else ("cached", "cold"):
                if state == "cold":
                    llm.reset()
                    cold.append(await ttft(messages))
                else:
                    llm.load_state(previous)
                    cached.append(await ttft(messages))
        before, now = (llm.tokenize(llm_prompt(llm, m), special=True) for m in (previous_messages, messages))
        pairs = zip(before, now, strict=False)
        prefix = next((i for i, (x, y) in enumerate(pairs) if x != y), min(len(before), len(now)))
        out[label] = {
            "persona_tokens": backend.count_tokens(persona.system_text()),
            "prompt_tokens": len(llm.tokenize(llm_prompt(llm, messages), special=True)),
            "reused_prefix_tokens": prefix,
            "ttft_cold_ms_p50": med(cold),
            "ttft_cached_ms_p50": med(cached),
        }

    # Eviction: an unrelated prompt (another system message) ran in between, as a model-based fact
    # extraction would. Without a RAM cache the persona is evaluated again; with one, its state is loaded.
    persona = persona_variants()["medium"]
    other = [{"role": "system", "content": "Extract facts as JSON."}, {"role": "user", "content": "I am 31."}]
    evicted: dict[str, list[float]] = {"no RAM cache": [], "LlamaRAMCache": []}
    for rep in range(reps):
        messages = messages_for(backend, persona, QUESTIONS[rep % len(QUESTIONS)], MEMORIES)
        for mode in evicted if rep % 2 else reversed(list(evicted)):
            llm.set_cache(LlamaRAMCache() if mode == "LlamaRAMCache" else None)
            llm.reset()
            await ttft(
                messages_for(backend, persona, "Hello!", PREVIOUS_MEMORIES), whole=True
            )  # previous turn
            await ttft(other, whole=True)
            evicted[mode].append(await ttft(messages))
    llm.set_cache(None)
    out["evicted_medium"] = {mode: med(v) for mode, v in evicted.items()}
    return out


def probe(threads: int, reps: int, model: str | None = None) -> dict[str, float]:
    """One process, raw llama-cpp-python: cold TTFT and tokens/s (the parent sets the environment)."""
    from app.model_catalog import resolve_model
    from memory.embedder import load_embedder
    from persona.messages import GenParams

    load_embedder()  # as in the server: torch (and its OpenMP runtime, which llama.cpp then shares) first
    from llama_cpp import Llama

    llm = Llama(model_path=str(resolve_model(model)), n_ctx=2048, n_threads=threads, verbose=False)
    messages = [{"role": "system", "content": persona_variants()["medium"].system_text()}]
    messages.append({"role": "user", "content": QUESTIONS[0]})
    samples = []
    for _ in range(reps):
        llm.reset()
        samples.append(time_sync(llm, messages, GenParams(max_tokens=32, temperature=0.0)))
    return {"ttft_ms": med([s.ttft_ms for s in samples]), "tps": med([s.tps for s in samples])}


def threads_table(rounds: int, model: str | None = None) -> dict[str, Any]:
    """llama.cpp thread count and OpenMP wait policy, one process per run, interleaved.

    The product sets OMP_WAIT_POLICY=PASSIVE unless the environment already holds a value; an empty value
    (which libgomp ignores) brings back the library default: "before".
    """
    cores = os.cpu_count() or 1
    variants = {
        f"before: {cores} threads, libgomp default wait": (cores, ""),
        f"now: {cores} threads, OMP_WAIT_POLICY=PASSIVE": (cores, "PASSIVE"),
        "1 thread, PASSIVE": (1, "PASSIVE"),
    }
    found: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    for round_ in range(rounds):
        for name in list(variants) if round_ % 2 == 0 else list(variants)[::-1]:
            threads, policy = variants[name]
            env = {**os.environ, "OMP_WAIT_POLICY": policy}
            command = [sys.executable, "-m", "bench.generation", "--probe", str(threads)]
            command += ["--model", model] if model else []
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=True)
            found[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {
        name: {
            "ttft_ms_p50": med([r["ttft_ms"] for r in rs]),
            "tokens_per_s_p50": med([r["tps"] for r in rs]),
        }
        for name, rs in found.items()
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Load the model once (the product's way), then run each part."""
    from app.backends.llamacpp import LlamaCppBackend
    from app.model_catalog import resolve_model
    from memory.embedder import load_embedder

    model = resolve_model(args.model)
    # Load order as in `samantha serve`: the embedder (torch) first, so llama.cpp shares torch's OpenMP.
    await asyncio.to_thread(load_embedder)
    backend = LlamaCppBackend(model, threads=args.threads)
    results: dict[str, Any] = {"model": model.name, "threads": args.threads or os.cpu_count()}
    results["omp_wait_policy"] = os.environ.get("OMP_WAIT_POLICY", "(unset)")
    results["bridge"] = await bridge_cost()
    results["compare"] = await compare(backend, args.reps, args.ttft_reps, args.max_tokens)
    results["caching"] = await caching(backend, args.cache_reps)
    # Resident memory with the embedder and this model loaded, as a server holds them.
    results["rss_mb"] = round(int(Path("/proc/self/status").read_text().split("VmRSS:")[1].split()[0]) / 1024)
    await backend.aclose()
    if args.thread_rounds:
        results["threads_table"] = threads_table(args.thread_rounds, args.model)
    return results


def print_tables(r: dict[str, Any]) -> None:
    """The human-readable part."""
    c = r["compare"]
    print(f"\nGeneration, {c['prompt_tokens_p50']} prompt tokens, max {c['max_tokens']}, {c['reps']} reps")
    print(
        f"{'path':26} {'TTFT ms p50':>12} {'tok/s p50':>10} {'tokens':>7} {'recall ms':>10}"
        f" {'TTFT-recall':>12}"
    )
    for name, row in c["runs"].items():
        print(
            f"{name:26} {row['ttft_ms_p50']:>12} {row['tokens_per_s_p50']:>10} {row['tokens_p50']:>7}"
            f" {row.get('recall_ms_p50', ''):>10} {row.get('ttft_minus_recall_ms_p50', ''):>12}"
        )
    print(
        f"overhead of B vs A: TTFT {c['overhead_ttft_pct_paired_p50']} % (median of {c['ttft_only']['reps']}"
        f" pairs to the first delta; IQR {c['overhead_ttft_pct_paired_iqr']});"
        f" tokens/s {c['overhead_tps_pct_paired_p50']} % (paired), {c['overhead_tps_pct_of_medians']} %"
        f" (medians); bridge alone {r['bridge']['us_per_delta_p50']} µs per delta"
    )
    print(
        f"\n{'persona':8} {'persona tok':>12} {'prompt tok':>11} {'reused':>7} {'cold ms':>9}"
        f" {'cached ms':>10}"
    )
    for label in ("short", "medium", "long"):
        row = r["caching"][label]
        print(
            f"{label:8} {row['persona_tokens']:>12} {row['prompt_tokens']:>11}"
            f" {row['reused_prefix_tokens']:>7} {row['ttft_cold_ms_p50']:>9} {row['ttft_cached_ms_p50']:>10}"
        )
    print(
        f"medium persona after an unrelated prompt evicted it, TTFT ms p50: {r['caching']['evicted_medium']}"
    )
    for name, row in r.get("threads_table", {}).items():
        print(f"{name:44} TTFT {row['ttft_ms_p50']:>9} ms   {row['tokens_per_s_p50']:>6} tok/s")


def markdown(r: dict[str, Any]) -> str:
    """The RESULTS.md section: command, machine, date, the tables."""
    c = r["compare"]
    lines = [
        "## Local generation: raw llama-cpp-python vs Samantha (bench/generation.py)",
        "",
        f"`.venv/bin/python -m bench.generation {r['args']}` — {r['model']}, {r['threads']} threads,"
        f" OMP_WAIT_POLICY {r['omp_wait_policy']}; {r['machine']}; {r['date']}; runtime {r['runtime_s']} s."
        " Medians of interleaved runs, each from the same saved model state (the previous turn's prompt in",
        "the KV cache). A/B/C share one prompt: the one C's turn built. Temperature 0.",
        "",
        "| path | TTFT ms p50 | tokens/s p50 | deltas p50 | recall ms p50 | TTFT - recall ms p50 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, row in c["runs"].items():
        lines.append(
            f"| {name} | {row['ttft_ms_p50']} | {row['tokens_per_s_p50']} | {row['tokens_p50']}"
            f" | {row.get('recall_ms_p50', '')} | {row.get('ttft_minus_recall_ms_p50', '')} |"
        )
    t = c["ttft_only"]
    lines += [
        "",
        f"Overhead of B (our thread bridge) over A: **TTFT {c['overhead_ttft_pct_paired_p50']} %** (median of"
        f" {t['reps']} interleaved pairs timed to the first delta, A {t['A_ms_p50']} ms,"
        f" B {t['B_ms_p50']} ms; interquartile range {c['overhead_ttft_pct_paired_iqr']} %), **tokens/s"
        f" {c['overhead_tps_pct_paired_p50']} %** (paired, whole replies;"
        f" {c['overhead_tps_pct_of_medians']} % from the medians)."
        " The bridge alone, with a model that answers instantly:"
        f" {r['bridge']['us_per_delta_p50']} µs per delta.",
        "",
        "Persona prefix cache: TTFT from an empty context (cold) vs with the previous turn's state (cached).",
        "",
        "| persona | persona tokens | prompt tokens | reused prefix tokens | TTFT cold ms p50"
        " | TTFT cached ms p50 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label in ("short", "medium", "long"):
        row = r["caching"][label]
        lines.append(
            f"| {label} | {row['persona_tokens']} | {row['prompt_tokens']} | {row['reused_prefix_tokens']}"
            f" | {row['ttft_cold_ms_p50']} | {row['ttft_cached_ms_p50']} |"
        )
    ev = r["caching"]["evicted_medium"]
    lines += [
        "",
        f"After an unrelated prompt evicted the persona (medium): TTFT {ev['no RAM cache']} ms without a RAM"
        f" cache, {ev['LlamaRAMCache']} ms with `LlamaRAMCache`.",
    ]
    if "threads_table" in r:
        lines += [
            "",
            "| llama.cpp threads (own process each) | TTFT ms (cold) | tokens/s |",
            "|---|---:|---:|",
        ]
        for name, row in r["threads_table"].items():
            lines.append(f"| {name} | {row['ttft_ms_p50']} | {row['tokens_per_s_p50']} |")
    return "\n".join(lines)


def main() -> int:
    """Parse options, run, print, write JSON."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reps", type=int, default=5, help="whole replies per path (after a warm-up)")
    parser.add_argument("--ttft-reps", type=int, default=12, help="A/B pairs timed to the first delta only")
    parser.add_argument("--cache-reps", type=int, default=3, help="cold/cached pairs per persona length")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument(
        "--model", default=None, help="A model name or GGUF path (default: the default model)."
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="llama.cpp threads (default: the product's)"
    )
    parser.add_argument("--thread-rounds", type=int, default=1, help="rounds of the threads table (0: skip)")
    parser.add_argument("--no-record", action="store_true", help="do not touch bench/RESULTS.md")
    parser.add_argument("--probe", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe is not None:
        print(json.dumps(probe(args.probe, 2, args.model)))
        return 0
    started = time.perf_counter()
    results = asyncio.run(run(args))
    results["machine"] = describe_machine()
    results["runtime_s"] = round(time.perf_counter() - started, 1)
    results["date"] = datetime.now().astimezone().isoformat(timespec="minutes")
    results["args"] = " ".join(sys.argv[1:])
    print_tables(results)
    write_json(RESULTS_DIR / "generation.json", results)
    if not args.no_record:
        record_section("generation", markdown(results))
    print(f"\nwrote {RESULTS_DIR / 'generation.json'} in {results['runtime_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
