"""What she says: scripted lives over several conversations, each probe checked by a plain rule.

Each file in bench/companion/ is one person's life with her: things they tell her, new conversations, and
probes (a message whose reply must keep a rule: memory, update, abstention, identity, boundaries, time).
Every reply, probe or not, is also checked for style (short, no letter, no scaffolding or raw dates, no
loop). Each life runs through the product itself (a real server on loopback, its websocket, a fresh data
folder) once per model, the models interleaved life by life in one run, so they meet the same machine.

    .venv/bin/python -m bench.companion [--models smollm2-135m,qwen2.5-coder-1.5b] [--base-url URL ...]
        [--lives NAME,...] [--no-record]

Prints a table of pass rates per rule and model, writes bench/results/companion.json, the transcripts to
bench/results/companion_transcripts.md (to be read by a person, not only scored) and a RESULTS.md section.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field
from websockets.asyncio.client import connect

from app.backends import Backend, create_backend
from app.config import Settings
from app.script import exchange, hello
from app.server import RunningServer
from bench import locomo_metrics, report
from bench.companion_rules import RULES, date_pattern, judge, style_problems
from memory.embedder import Embedder, load_embedder

log = logging.getLogger("bench.companion")
COMMAND = ".venv/bin/python -m bench.companion"
LIVES_DIR = Path(__file__).resolve().parent / "companion"
DEFAULT_MODELS = ("smollm2-135m", "qwen2.5-coder-1.5b")


class Step(BaseModel):
    """Something the person says (a probe when it has a rule), or the start of a new conversation."""

    model_config = ConfigDict(extra="forbid")
    user: str | None = None
    new_conversation: bool = False
    rule: Literal["memory", "update", "abstention", "identity", "boundaries", "time"] | None = None
    expect: str | None = Field(None, description="A regular expression the reply must match.")
    avoid: str | None = Field(None, description="A regular expression the reply must not match.")
    asks: Literal["date", "weekday", "month"] = "date"


class Life(BaseModel):
    """One person's conversations with her."""

    model_config = ConfigDict(extra="forbid")
    name: str
    steps: list[Step] = Field(min_length=1)


@dataclass
class Reply:
    """One reply, judged."""

    model: str
    life: str
    user: str
    reply: str
    recalled: list[str]
    rule: str | None
    ok: bool | None
    why: str
    style: list[str]
    first_token_ms: float | None
    total_ms: float | None


@dataclass
class Speaker:
    """A model under test: its name and its loaded backend."""

    name: str
    backend: Backend
    settings: Settings
    replies: list[Reply] = field(default_factory=list)


def load_lives(names: set[str] | None = None) -> list[Life]:
    """Every life in bench/companion/, in file order (or only those named)."""
    lives = []
    for path in sorted(LIVES_DIR.glob("*.yaml")):
        life = Life.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        if names is None or path.stem in names:
            lives.append(life)
    return lives


async def live(speaker: Speaker, life: Life, embedder: Embedder, today: date) -> None:
    """Play one life through a fresh server on `speaker`'s model, judging every reply."""
    with tempfile.TemporaryDirectory(prefix="samantha-companion-") as tmp:
        settings = speaker.settings.model_copy(update={"data_dir": Path(tmp) / "data"})
        server = await RunningServer.start(settings, backend=speaker.backend, embedder=embedder, port=0)
        conversation = 0
        ws = None
        try:
            for step in life.steps:
                if step.new_conversation or ws is None:
                    if ws is not None:
                        await ws.close()
                    conversation += 1
                    ws = await connect(server.ws_url, max_size=1 << 20)
                    await hello(ws, f"life-{conversation}")
                if step.user is None:
                    continue
                said = await exchange(ws, step.user)
                reply = said.reply if said.error is None else f"(error: {said.error})"
                expect = date_pattern(today, step.asks) if step.rule == "time" else step.expect
                ok, why = judge(step.rule, reply, expect, step.avoid) if step.rule else (None, "")
                speaker.replies.append(
                    Reply(
                        speaker.name,
                        life.name,
                        step.user,
                        reply,
                        [m.text for m in said.recalled],
                        step.rule,
                        ok,
                        why,
                        style_problems(reply),
                        said.timings.get("first_token_ms"),
                        said.timings.get("total_ms"),
                    )
                )
        finally:
            if ws is not None:
                await ws.close()
            await server.stop()


def summarise(replies: list[Reply]) -> dict[str, Any]:
    """Pass rates per rule, style over every reply, and overall (a probe passes its rule and style)."""
    probes = [r for r in replies if r.rule]
    table: dict[str, Any] = {}
    for rule in RULES[:-1]:
        mine = [r for r in probes if r.rule == rule]
        table[rule] = {"n": len(mine), "pass": sum(bool(r.ok) for r in mine)}
    table["style"] = {"n": len(replies), "pass": sum(not r.style for r in replies)}
    table["overall"] = {"n": len(probes), "pass": sum(bool(r.ok) and not r.style for r in probes)}
    for row in table.values():
        row["rate"] = row["pass"] / row["n"] if row["n"] else None
    firsts = [r.first_token_ms for r in replies if r.first_token_ms]
    table["first_token_ms_p50"] = statistics.median(firsts) if firsts else None
    return table


def markdown(results: dict[str, dict[str, Any]], meta: dict[str, Any]) -> str:
    """The RESULTS.md section."""
    names = list(results)
    lines = [
        "## Companion benchmark: what she says",
        "",
        f"`{meta['command']}` — {meta['machine']['nproc']} cores ({meta['machine']['cpu']}), load "
        f"{meta['loadavg_1m_at_end']} at the end, {meta['date']}, commit {meta['commit']}; "
        f"{meta['lives']} lives, {meta['probes']} probes, {meta['seconds']:.0f} s. Models interleaved "
        "life by life in one run; each reply sampled as the product samples (temperature "
        f"{meta['temperature']}). Transcripts: bench/results/companion_transcripts.md.",
        "",
        "| rule | n | " + " | ".join(names) + " |",
        "|---|---|" + "---|" * len(names),
    ]
    for rule in [*RULES, "overall"]:
        n = results[names[0]][rule]["n"]
        cells = [
            "-" if results[m][rule]["rate"] is None
            else f"{results[m][rule]['rate'] * 100:.0f}% ({results[m][rule]['pass']})"
            for m in names
        ]  # fmt: skip
        lines.append(f"| {rule} | {n} | " + " | ".join(cells) + " |")
    firsts = [results[m]["first_token_ms_p50"] for m in names]
    lines.append("| first token p50 | | " + " | ".join(f"{f:.0f} ms" if f else "-" for f in firsts) + " |")
    return "\n".join(lines)


def transcripts(speakers: list[Speaker]) -> str:
    """Every exchange, per life and model, with each verdict: for reading."""
    out = ["# Companion benchmark transcripts", ""]
    lives = list(dict.fromkeys(r.life for s in speakers for r in s.replies))
    for life in lives:
        for speaker in speakers:
            out += [f"## {life} — {speaker.name}", ""]
            for r in (r for r in speaker.replies if r.life == life):
                verdict = "" if r.rule is None else f" **[{r.rule}: {'pass' if r.ok else 'FAIL ' + r.why}]**"
                style = f" *(style: {', '.join(r.style)})*" if r.style else ""
                out += [f"> **you:** {r.user}", ">", f"> **Samantha:** {r.reply}{verdict}{style}", ""]
    return "\n".join(out)


async def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    """Load the models and the embedder once, then play every life on every model, interleaved."""
    lives = load_lives(set(args.lives.split(",")) if args.lives else None)
    embedder = load_embedder()
    speakers: list[Speaker] = []
    base = {"backend": "llamacpp", "seeds_dir": Settings().seeds_dir}
    for name in args.models.split(","):
        settings = Settings(**base, model=name)
        speakers.append(Speaker(name, await asyncio.to_thread(create_backend, settings), settings))
    if args.base_url:
        settings = Settings(backend="openai", base_url=args.base_url, remote_model=args.remote_model,
                            api_key=args.api_key)  # fmt: skip
        speakers.append(
            Speaker(f"remote:{args.remote_model or 'default'}", create_backend(settings), settings)
        )
    today = date.today()
    started = time.perf_counter()
    try:
        for life in lives:
            for speaker in speakers:
                log.info("%s: %s", speaker.name, life.name)
                await live(speaker, life, embedder, today)
    finally:
        for speaker in speakers:
            await speaker.backend.aclose()
    seconds = time.perf_counter() - started
    results = {s.name: summarise(s.replies) for s in speakers}
    meta = {
        "command": COMMAND + (f" --lives {args.lives}" if args.lives else ""),
        "machine": locomo_metrics.machine(),
        "loadavg_1m_at_end": round(os.getloadavg()[0], 2),
        "date": today.isoformat(),
        "commit": report.commit(),
        "lives": len(lives),
        "probes": sum(1 for life in lives for s in life.steps if s.rule),
        "seconds": seconds,
        "temperature": speakers[0].settings.temperature,
    }
    return {"meta": meta, "results": results, "speakers": speakers}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table, write the JSON, the transcripts and the RESULTS.md section."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS), help="Local models, by name.")
    parser.add_argument("--base-url", help="Also a remote OpenAI-compatible model at this URL.")
    parser.add_argument("--remote-model", help="The remote model's name.")
    parser.add_argument("--api-key", help="The remote server's key.")
    parser.add_argument("--lives", help="Only these lives (file names without .yaml).")
    parser.add_argument("--no-record", action="store_true", help="Do not write results files.")
    parser.add_argument("--show", action="store_true", help="Print the transcripts too.")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    outcome = asyncio.run(benchmark(args))
    text = markdown(outcome["results"], outcome["meta"])
    if args.show:
        print(transcripts(outcome["speakers"]))
    print(text)
    if not args.no_record:
        speakers: list[Speaker] = outcome["speakers"]
        report.write_json(
            report.RESULTS_DIR / "companion.json",
            {"meta": outcome["meta"], "results": outcome["results"],
             "replies": [asdict(r) for s in speakers for r in s.replies]},
        )  # fmt: skip
        (report.RESULTS_DIR / "companion_transcripts.md").write_text(transcripts(speakers) + "\n")
        report.record_section("companion", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
