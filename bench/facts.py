"""Facts about the person: the rules or the local model? Both of the product's extractors on one labelled set.

Each message below is something a person might tell her, with the words a fact learned from it must keep
(none for small talk). Both extractors run on every message, in one run: `extract_facts` (the rules) and
`extract_with_model` (app/fact_model.py: the default local model asked for JSON, as `--facts model`
does). Reported: how many of the expected facts each finds, how many facts each invents from small
talk, and the time per message (for the model, time it holds the only local model, which a reply would
wait for).

    .venv/bin/python -m bench.facts [--model NAME] [--no-record]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import time
from typing import Any

from app.backends import create_backend
from app.config import Settings
from app.fact_model import extract_with_model
from bench import locomo_metrics, report
from memory.extract import Fact, extract_facts

COMMAND = ".venv/bin/python -m bench.facts"
# (what the person says, the words the facts must contain between them)
LABELLED: list[tuple[str, tuple[str, ...]]] = [
    ("My girlfriend Lena and I just adopted a rescue greyhound called Pixel.", ("Lena", "Pixel")),
    ("I'm a paramedic, mostly night shifts.", ("paramedic",)),
    ("I grew up in Cork but I live in Glasgow now.", ("Glasgow",)),
    ("My son Tomas starts school in September.", ("Tomas",)),
    ("I'm lactose intolerant, so no cheese for me.", ("lactose",)),
    ("I've been learning Portuguese for a year.", ("Portuguese",)),
    ("My dad is a retired fisherman.", ("fisherman",)),
    ("I play bass in a band called The Lighthouse Keepers.", ("bass",)),
    ("My best friend is called Yusuf, we met at university.", ("Yusuf",)),
    ("I work as a pharmacist in a small village.", ("pharmacist",)),
    ("I'm scared of flying, which makes holidays hard.", ("flying",)),
    ("My sister Ingrid lives in Oslo with her wife.", ("Ingrid",)),
    ("We moved to Valencia in the summer.", ("Valencia",)),
    ("I've got two cats, Mochi and Dumpling.", ("Mochi", "Dumpling")),
    ("I'm training to be a pilot.", ("pilot",)),
    ("My favourite film is Spirited Away.", ("Spirited Away",)),
    ("I'm vegan since last year.", ("vegan",)),
    ("My mum's name is Aoife.", ("Aoife",)),
    ("Long day. So tired.", ()),
    ("haha that's actually really funny", ()),
    ("What do you think about rainy Sundays?", ()),
    ("Can you recommend a good book?", ()),
    ("ok sure, sounds good", ()),
    ("I'm not sure what to do tonight.", ()),
]


def covered(facts: list[Fact], words: tuple[str, ...]) -> int:
    """How many of the expected words appear in the facts' texts."""
    text = " ".join(f.text for f in facts).lower()
    return sum(w.lower() in text for w in words)


async def benchmark(model: str | None) -> dict[str, Any]:
    """Both extractors on every message, one after the other, the model warmed up first."""
    backend = await asyncio.to_thread(create_backend, Settings(backend="llamacpp", model=model))
    results: dict[str, Any] = {}
    try:
        await extract_with_model(backend, "My name is Ada.")  # warm-up: load pages, fill the cache
        for name in ("rules", "model"):
            found = expected = invented = 0
            seconds: list[float] = []
            rows = []
            for text, words in LABELLED:
                started = time.perf_counter()
                facts = extract_facts(text) if name == "rules" else await extract_with_model(backend, text)
                seconds.append(time.perf_counter() - started)
                expected += len(words)
                found += covered(facts, words)
                invented += len(facts) if not words else 0
                rows.append({"text": text, "facts": [f.text for f in facts]})
            results[name] = {
                "expected": expected,
                "found": found,
                "recall": found / expected,
                "invented_from_small_talk": invented,
                "small_talk_messages": sum(1 for _, w in LABELLED if not w),
                "ms_p50": statistics.median(seconds) * 1000,
                "rows": rows,
            }
    finally:
        await backend.aclose()
    return results


def markdown(results: dict[str, Any], meta: dict[str, Any]) -> str:
    """The RESULTS.md section."""
    lines = [
        "## Facts about the person: rules or the local model",
        "",
        f"`{meta['command']}` — {meta['nproc']} cores, load {meta['load']} at the end, {meta['date']}, "
        f"commit {meta['commit']}; {len(LABELLED)} labelled messages, model {meta['model']}.",
        "",
        "| extractor | expected facts found | facts invented from small talk | time per message p50 |",
        "|---|---|---|---|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['found']}/{r['expected']} ({r['recall'] * 100:.0f}%) | "
            f"{r['invented_from_small_talk']} in {r['small_talk_messages']} messages | {r['ms_p50']:.1f} ms |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run, print the table, record it."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="Local model name (default: the default model).")
    parser.add_argument("--no-record", action="store_true", help="Do not write results files.")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    results = asyncio.run(benchmark(args.model))
    meta = {
        "command": COMMAND,
        "nproc": locomo_metrics.machine()["nproc"],
        "load": round(os.getloadavg()[0], 2),
        "date": time.strftime("%Y-%m-%d"),
        "commit": report.commit(),
        "model": args.model or "default",
    }
    text = markdown(results, meta)
    print(text)
    if not args.no_record:
        report.write_json(report.RESULTS_DIR / "facts.json", {"meta": meta, "results": results})
        report.record_section("facts", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
