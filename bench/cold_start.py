"""Cold start and per-turn time: `samantha serve` as a real process, to ready, then turns over the socket.

Each run starts a fresh data dir twice: the first start ingests the seed reviews, the second finds them.
Run: .venv/bin/python -m bench.cold_start [--backend llamacpp] [--runs 3] [--turns 4]
Prints a table of medians and writes bench/results/cold_start_<backend>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect

from bench.locomo_metrics import machine as describe_machine
from bench.report import record_section

RESULTS = Path(__file__).parent / "results"
QUESTIONS = [
    "Hi Samantha! My dog is called Biscuit.",
    "I had a long day at work, I'm a nurse.",
    "What do you think about the film Her?",
    "What is my dog's name?",
    "Can you suggest something relaxing for tonight?",
    "Do you remember what I do for work?",
    "My sister Amy is visiting next week.",
    "Who is visiting me next week?",
]


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 300) -> float:
    """Seconds until /health answers."""
    start = time.perf_counter()
    async with httpx.AsyncClient() as http:
        while time.perf_counter() - start < timeout:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}")
            try:
                if (await http.get(url + "/health", timeout=1)).status_code == 200:
                    return time.perf_counter() - start
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.05)
    raise TimeoutError("server did not become ready")


async def turns(ws_url: str, count: int) -> list[dict[str, float]]:
    """Time each turn: to the recalled frame, to the first delta, to done."""
    out = []
    async with connect(ws_url) as ws:
        await ws.send(json.dumps({"type": "hello"}))
        await ws.recv()
        for i in range(count):
            start = time.perf_counter()
            await ws.send(json.dumps({"type": "user", "text": QUESTIONS[i % len(QUESTIONS)]}))
            marks: dict[str, float] = {}
            tokens = 0
            while True:
                frame = json.loads(await ws.recv())
                now = (time.perf_counter() - start) * 1000
                if frame["type"] == "recalled":
                    marks["recalled_ms"] = now
                elif frame["type"] == "delta":
                    tokens += 1
                    marks.setdefault("first_delta_ms", now)
                elif frame["type"] in ("done", "error"):
                    marks["done_ms"] = now
                    marks["deltas"] = tokens
                    break
            out.append(marks)
    return out


async def start_once(command: list[str], data: Path, port: int, count: int) -> dict[str, float]:
    """One `samantha serve` process on `data`: seconds to ready, then `count` timed turns; then stop it."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    start = time.perf_counter()
    proc = subprocess.Popen(
        [*command, "--data-dir", str(data)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        ready = await wait_ready(f"http://127.0.0.1:{port}", proc)
        timed = await turns(f"ws://127.0.0.1:{port}/ws", count)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    later = timed[1:] or timed
    return {
        "ready_s": ready,
        "first_reply_ms": timed[0]["done_ms"],
        "first_reply_first_delta_ms": timed[0].get("first_delta_ms", float("nan")),
        "turn_done_ms_p50": statistics.median(t["done_ms"] for t in later),
        "first_delta_ms_p50": statistics.median(t.get("first_delta_ms", float("nan")) for t in later),
        "recalled_ms_p50": statistics.median(t["recalled_ms"] for t in later),
        "wall_s": time.perf_counter() - start,
    }


async def run(backend: str, count: int, runs: int, max_tokens: int) -> dict[str, Any]:
    """`runs` times: a fresh data dir started twice (the first start ingests the seeds); medians."""
    phases = ("first start (seeds ingested)", "second start")
    found: dict[str, list[dict[str, float]]] = {phase: [] for phase in phases}
    for _ in range(runs):
        port = free_port()
        data = Path(tempfile.mkdtemp(prefix="samantha-bench-")) / "data"
        command = [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--backend", backend]
        command += ["--max-tokens", str(max_tokens), "--rate-limit", "0"]
        for phase in phases:
            found[phase].append(await start_once(command, data, port, count))
    results: dict[str, Any] = {"backend": backend, "runs": runs, "turns": count, "max_tokens": max_tokens}
    for phase, samples in found.items():
        results[phase] = {
            key: round(statistics.median(s[key] for s in samples), 2 if key.endswith("_s") else 1)
            for key in samples[0]
        }
    return results


def markdown(r: dict[str, Any]) -> str:
    """The RESULTS.md section."""
    lines = [
        f"## Cold start, backend {r['backend']} (bench/cold_start.py)",
        "",
        f"`.venv/bin/python -m bench.cold_start {r['args']}` — {r['machine']}; {r['date']}; runtime"
        f" {r['runtime_s']} s. `samantha serve` as a process (max {r['max_tokens']} tokens a reply),"
        f" medians of {r['runs']} fresh data dirs each started twice; ready = /health answers;"
        " first reply = the first turn's `done`, timed from sending it.",
        "",
        "| start | ready s | first reply ms | first reply, 1st delta ms | later turns p50 ms"
        " | later 1st delta p50 ms | recall p50 ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for phase, x in r.items():
        if isinstance(x, dict) and "ready_s" in x:
            lines.append(
                f"| {phase} | {x['ready_s']} | {x['first_reply_ms']} | {x['first_reply_first_delta_ms']}"
                f" | {x['turn_done_ms_p50']} | {x['first_delta_ms_p50']} | {x['recalled_ms_p50']} |"
            )
    return "\n".join(lines)


def main() -> int:
    """Parse options, run, print a table, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", default="llamacpp")
    parser.add_argument("--turns", type=int, default=4, help="timed turns after each start")
    parser.add_argument("--runs", type=int, default=3, help="fresh data dirs, each started twice (medians)")
    parser.add_argument("--max-tokens", type=int, default=64, help="reply length cap for the server")
    parser.add_argument("--no-record", action="store_true", help="do not touch bench/RESULTS.md")
    args = parser.parse_args()
    started = time.perf_counter()
    results = asyncio.run(run(args.backend, max(2, args.turns), max(1, args.runs), args.max_tokens))
    results["machine"] = describe_machine()
    results["runtime_s"] = round(time.perf_counter() - started, 1)
    results["date"] = datetime.now().astimezone().isoformat(timespec="minutes")
    results["args"] = " ".join(sys.argv[1:])
    print(f"medians of {results['runs']} runs, backend {args.backend}")
    print(
        f"{'phase':30} {'ready s':>8} {'1st reply ms':>13} {'1st reply delta':>16} {'turn p50 ms':>12}"
        f" {'1st delta p50':>14} {'recall p50':>11}"
    )
    for phase, r in results.items():
        if isinstance(r, dict) and "ready_s" in r:
            print(
                f"{phase:30} {r['ready_s']:>8} {r['first_reply_ms']:>13}"
                f" {r['first_reply_first_delta_ms']:>16} {r['turn_done_ms_p50']:>12}"
                f" {r['first_delta_ms_p50']:>14} {r['recalled_ms_p50']:>11}"
            )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"cold_start_{args.backend}.json").write_text(json.dumps(results, indent=2))
    print(f"wrote {RESULTS / f'cold_start_{args.backend}.json'} in {results['runtime_s']} s")
    if not args.no_record:
        record_section(f"cold-start-{args.backend}", markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
