"""Load: 100 websocket clients chatting with the echo backend, 1,000 idle connections, server memory.

A real `samantha serve` process (echo backend, --rate-limit 0: every client is the same local user) on a
free port of 127.0.0.1; clients are asyncio websockets in this process, or split over `--client-procs`
processes. Everything is bounded in count and time and stops by itself.

- paced: each of 100 clients sends one turn every `--period` s (offered load 100/period turns/s);
  latency = send -> done. This is the question "at 200 turns/s, what p99 does a user see?".
- saturation: the same 100 clients with no pause between turns. With N clients each waiting for its
  reply, turns/s x mean latency = N (Little's law), so a closed loop shows capacity, not latency.
- idle: 1,000 connections that said hello and stay open; one more client still gets a turn done.
- memory: VmRSS of the server process idle, after the load, with 1,000 connections; then the same with
  `--backend llamacpp` (the embedder and SmolLM2 both loaded).

Run: .venv/bin/python -m bench.load [--clients 100] [--turns 10] [--period 0.5] [--idle 1000]
[--profile FILE: py-spy the server, GIL holder only, during the saturation phase]
Prints tables and writes bench/results/load.json.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from bench.locomo_metrics import machine as describe_machine
from bench.report import RESULTS_DIR, record_section, write_json

TEXTS = [
    "I walked Biscuit in the park this morning.",
    "Work was long today, three night shifts in a row.",
    "Do you remember what film I said I loved?",
    "My sister Amy is coming to visit next week.",
    "I think I'll cook pasta tonight.",
    "What should I read next?",
]


@functools.cache
def said_lines() -> list[str]:
    """Distinct real chat lines (LoCoMo's turns, ../shared/bench); the short TEXTS, numbered, without it."""
    from bench import locomo_data

    try:
        lines = [t.text for c in locomo_data.load() for t in c.turns]
    except locomo_data.DataError:
        return [f"{text} ({n})" for n in range(2000) for text in TEXTS]
    return list(dict.fromkeys(" ".join(line.split()) for line in lines))


def free_port() -> int:
    """A port nothing listens on right now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def raise_open_files(want: int) -> int:
    """Lift the soft limit on open files (children inherit it); return the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def cpu_seconds(stat: Path) -> float:
    """User + system CPU seconds from a /proc .../stat file."""
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_status(pid: int) -> dict[str, float]:
    """RSS and peak RSS (MiB), CPU seconds (user + system) of a process and of its main thread (the one
    running the event loop: it holds the GIL for every frame, the rest runs in worker threads)."""
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    kb = {line.split(":")[0]: int(line.split()[1]) for line in status if line.startswith(("VmRSS", "VmHWM"))}
    return {
        "rss_mib": round(kb["VmRSS"] / 1024, 1),
        "peak_rss_mib": round(kb["VmHWM"] / 1024, 1),
        "cpu_s": cpu_seconds(Path(f"/proc/{pid}/stat")),
        "loop_cpu_s": cpu_seconds(Path(f"/proc/{pid}/task/{pid}/stat")),
    }


class Server:
    """`samantha serve` as a subprocess on a free port of 127.0.0.1."""

    def __init__(self, backend: str, extra: list[str], env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.data = Path(tempfile.mkdtemp(prefix="samantha-load-"))
        command = [sys.executable, "-m", "app.cli", "serve", "--backend", backend, "--rate-limit", "0"]
        command += ["--seeds-dir", "", "--host", "127.0.0.1", "--port", str(self.port)]
        command += ["--data-dir", str(self.data), *extra]
        self.log = open(self.data / "server.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            command, env={**os.environ, **(env or {})}, stdout=self.log, stderr=subprocess.STDOUT
        )
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws"

    async def ready(self, timeout: float = 300) -> float:
        """Seconds until /health answers."""
        start = time.perf_counter()
        async with httpx.AsyncClient() as http:
            while time.perf_counter() - start < timeout:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited with {self.proc.returncode}; see {self.log.name}")
                try:
                    if (await http.get(self.url + "/health", timeout=2)).status_code == 200:
                        return time.perf_counter() - start
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        raise TimeoutError("the server did not become ready")

    def status(self) -> dict[str, float]:
        return proc_status(self.proc.pid)

    def stop(self) -> None:
        """SIGINT (graceful), then SIGKILL if it hangs."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@dataclass
class Client:
    """One chatting client's latencies and failures."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


async def hello(ws: ClientConnection) -> None:
    """Open a new conversation."""
    await ws.send(json.dumps({"type": "hello", "conversation": None}))
    frame = json.loads(await ws.recv())
    if frame["type"] != "ready":
        raise RuntimeError(f"hello answered with {frame}")


async def turn(ws: ClientConnection, text: str) -> tuple[float, str | None]:
    """One turn: milliseconds from send to done, and the error code if it failed."""
    start = time.perf_counter()
    await ws.send(json.dumps({"type": "user", "text": text}))
    while True:
        frame = json.loads(await ws.recv())
        if frame["type"] == "done":
            return (time.perf_counter() - start) * 1000, None
        if frame["type"] == "error":
            return (time.perf_counter() - start) * 1000, str(frame["code"])


async def chatter(
    url: str, index: int, turns: int, period: float, start_at: float, out: Client, unique: bool = True
) -> None:
    """Connect, say hello, then take `turns` turns, one per `period` s on a fixed schedule (0: no pause)."""
    async with connect(url, max_size=None, ping_interval=None, open_timeout=60) as ws:
        await hello(ws)
        # Spread the clients' schedules evenly over one period.
        begin = start_at + (index % 100) / 100 * period
        await asyncio.sleep(max(0.0, begin - time.time()))
        for k in range(turns):
            if period:
                await asyncio.sleep(max(0.0, begin + k * period - time.time()))
            # Unique texts: the embedder keeps recent texts, and people rarely repeat themselves. Real chat
            # lines (LoCoMo's), not a numbered suffix: a word in every message makes every lexical search
            # match the whole store, which real conversation does not (worker CPU 24.6 -> 17.9 ms a turn).
            said = said_lines()
            text = said[(index * turns + k) % len(said)] if unique else TEXTS[(index + k) % len(TEXTS)]
            ms, error = await turn(ws, text)
            (out.errors.append(error) if error else out.latencies_ms.append(ms))


async def clients_here(
    url: str | list[str],
    first: int,
    count: int,
    turns: int,
    period: float,
    start_at: float,
    unique: bool = True,
) -> Client:
    """`count` chatting clients in this process; their latencies pooled. Several URLs (replicas): client
    i talks to the i-th, round robin, as a proxy balancing connections would spread them."""
    urls = [url] if isinstance(url, str) else url
    pooled = [Client() for _ in range(count)]
    await asyncio.gather(
        *(
            chatter(urls[(first + i) % len(urls)], first + i, turns, period, start_at, c, unique)
            for i, c in enumerate(pooled)
        ),
        return_exceptions=False,
    )
    return Client([ms for c in pooled for ms in c.latencies_ms], [e for c in pooled for e in c.errors])


async def chat_phase(
    server: Any, clients: int, turns: int, period: float, procs: int, unique: bool = True
) -> dict[str, Any]:
    """All clients chat; turns/s over the whole phase, latency percentiles, CPU of server and clients."""
    start_at = time.time() + 2.0 + clients / 200  # time for every client to connect and say hello
    before = server.status()
    own_before = resource.getrusage(resource.RUSAGE_SELF)
    kids_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    if procs <= 1:
        result = await clients_here(server.ws_url, 0, clients, turns, period, start_at, unique)
    else:
        share = [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)]
        firsts = [sum(share[:i]) for i in range(procs)]
        spec = [(f, n) for f, n in zip(firsts, share, strict=True)]
        children = [
            await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.load", "--client-worker",
                json.dumps([server.ws_url, f, n, turns, period, start_at, unique]),
                stdout=asyncio.subprocess.PIPE,
            )
            for f, n in spec
        ]  # fmt: skip
        outputs = await asyncio.gather(*(c.communicate() for c in children))
        parts = [json.loads(out.decode()) for out, _ in outputs]
        result = Client(
            [ms for p in parts for ms in p["latencies_ms"]], [e for p in parts for e in p["errors"]]
        )
    elapsed = time.time() - start_at
    after = server.status()
    own_after = resource.getrusage(resource.RUSAGE_SELF)
    kids_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    client_cpu = sum(
        getattr(a, f) - getattr(b, f)
        for a, b in ((own_after, own_before), (kids_after, kids_before))
        for f in ("ru_utime", "ru_stime")
    )
    done = len(result.latencies_ms)
    lat = sorted(result.latencies_ms) or [float("nan")]

    def pct(q: float) -> float:
        return round(lat[min(len(lat) - 1, int(q * len(lat)))], 1)

    server_cpu = after["cpu_s"] - before["cpu_s"]
    loop_cpu = after["loop_cpu_s"] - before["loop_cpu_s"]
    return {
        "clients": clients,
        "client_procs": procs,
        "turns": done,
        "errors": len(result.errors),
        "error_codes": sorted(set(result.errors)),
        "offered_turns_per_s": round(clients / period, 1) if period else None,
        "turns_per_s": round(done / elapsed, 1),
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "max_ms": round(lat[-1], 1),
        "mean_ms": round(statistics.fmean(lat), 1),
        "server_cpu_s": round(server_cpu, 1),
        "server_cpu_ms_per_turn": round(server_cpu / max(done, 1) * 1000, 2),
        "server_loop_cpu_ms_per_turn": round(loop_cpu / max(done, 1) * 1000, 2),
        "server_cores_busy": round(server_cpu / elapsed, 2),
        "client_cpu_s": round(client_cpu, 1),
        "client_cpu_ms_per_turn": round(client_cpu / max(done, 1) * 1000, 2),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "wall_s": round(elapsed, 1),
        "server_rss_mib_after": after["rss_mib"],
    }


async def idle_phase(server: Server, count: int) -> dict[str, Any]:
    """Hold `count` connections that said hello; measure RSS; one more client takes a turn meanwhile."""
    before = server.status()["rss_mib"]
    sockets: list[ClientConnection] = []
    started = time.perf_counter()
    try:
        for batch in range(0, count, 100):
            opened = await asyncio.gather(
                *(
                    connect(server.ws_url, ping_interval=None, open_timeout=60)
                    for _ in range(batch, min(batch + 100, count))
                )
            )
            sockets.extend(opened)
            await asyncio.gather(*(hello(ws) for ws in opened))
        opened_s = time.perf_counter() - started
        await asyncio.sleep(1.0)
        held = server.status()
        async with connect(server.ws_url, ping_interval=None, max_size=None) as ws:
            await hello(ws)
            ms, error = await turn(ws, "Are you still there with all these people around?")
        alive = sum(1 for ws in sockets if ws.state.name == "OPEN")
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return {
        "connections": len(sockets),
        "open_after_turn": alive,
        "open_s": round(opened_s, 1),
        "rss_mib_before": before,
        "rss_mib_held": held["rss_mib"],
        "kib_per_connection": round((held["rss_mib"] - before) * 1024 / max(len(sockets), 1), 1),
        "turn_ms_while_held": round(ms, 1),
        "turn_error": error,
    }


@contextmanager
def py_spy(pid: int, out: str | None) -> Iterator[None]:
    """With `out`, sample the server with py-spy meanwhile: the thread holding the GIL, 250 times a second,
    as collapsed stacks (one "thread;frame;frame count" line each), without pausing the server."""
    if out is None:
        yield
        return
    spy = Path(sys.executable).with_name("py-spy")
    command = [str(spy), "record", "--pid", str(pid), "--rate", "250", "--gil", "--threads", "--nonblocking"]
    proc = subprocess.Popen([*command, "--format", "raw", "-o", out], stdout=subprocess.DEVNULL)
    time.sleep(1.0)  # attached before the clients start
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)  # py-spy writes the file when interrupted
        proc.wait(timeout=60)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Echo server: paced, saturation, idle. Then llamacpp server: RSS idle and with the idle sockets."""
    results: dict[str, Any] = {"open_files_limit": raise_open_files(args.idle * 2 + 1024)}
    env = dict(kv.split("=", 1) for kv in args.server_env)
    server = Server("echo", [], env)
    try:
        results["echo_ready_s"] = round(await server.ready(), 1)
        results["echo_rss_mib_idle"] = server.status()["rss_mib"]
        warm = await chat_phase(server, min(10, args.clients), 3, 0.0, 1)  # imports, caches, first turns
        results["warmup_turns"] = warm["turns"]
        with py_spy(server.proc.pid, args.profile):
            results["saturation"] = await chat_phase(server, args.clients, args.turns, 0.0, args.client_procs)
        results["paced"] = await chat_phase(server, args.clients, args.turns, args.period, args.client_procs)
        # The same words again and again: every embedding comes from the embedder's cache of recent texts,
        # which shows what a turn costs without embedding the query.
        results["saturation_repeated_texts"] = await chat_phase(
            server, args.clients, args.turns, 0.0, args.client_procs, unique=False
        )
        results["idle_echo"] = await idle_phase(server, args.idle)
        results["echo_peak_rss_mib"] = server.status()["peak_rss_mib"]
    finally:
        server.stop()
    if args.llamacpp:
        server = Server("llamacpp", ["--max-tokens", "32"], env)
        try:
            results["llamacpp_ready_s"] = round(await server.ready(), 1)
            results["llamacpp_rss_mib_idle"] = server.status()["rss_mib"]
            async with connect(server.ws_url, ping_interval=None, max_size=None) as ws:
                await hello(ws)
                await turn(ws, "Hello Samantha, how are you today?")
            results["llamacpp_rss_mib_after_turn"] = server.status()["rss_mib"]
            results["idle_llamacpp"] = await idle_phase(server, args.idle)
            results["llamacpp_peak_rss_mib"] = server.status()["peak_rss_mib"]
        finally:
            server.stop()
    return results


def print_tables(r: dict[str, Any]) -> None:
    """The human-readable part."""
    print(
        f"\n{'phase':26} {'turns':>6} {'err':>4} {'offered/s':>9} {'turns/s':>8} {'p50 ms':>7} {'p95 ms':>7}"
        f" {'p99 ms':>7} {'srv CPU ms/turn':>16} {'loop':>6} {'srv cores':>9} {'client ms/turn':>14}"
    )
    for name in ("saturation", "paced", "saturation_repeated_texts"):
        p = r[name]
        print(
            f"{name:26} {p['turns']:>6} {p['errors']:>4} {p['offered_turns_per_s'] or '-':>9}"
            f" {p['turns_per_s']:>8} {p['p50_ms']:>7} {p['p95_ms']:>7} {p['p99_ms']:>7}"
            f" {p['server_cpu_ms_per_turn']:>16} {p['server_loop_cpu_ms_per_turn']:>6}"
            f" {p['server_cores_busy']:>9} {p['client_cpu_ms_per_turn']:>14}"
        )
    for name in ("idle_echo", "idle_llamacpp"):
        if name in r:
            i = r[name]
            print(
                f"{name}: {i['connections']} held ({i['open_after_turn']} still open), RSS"
                f" {i['rss_mib_before']} -> {i['rss_mib_held']} MiB ({i['kib_per_connection']} KiB each),"
                f" a turn meanwhile {i['turn_ms_while_held']} ms {i['turn_error'] or ''}"
            )
    if "llamacpp_rss_mib_idle" in r:
        print(
            f"RSS with the embedder and SmolLM2 loaded: idle {r['llamacpp_rss_mib_idle']} MiB, after a turn"
            f" {r['llamacpp_rss_mib_after_turn']} MiB, peak {r['llamacpp_peak_rss_mib']} MiB"
        )


def markdown(r: dict[str, Any]) -> str:
    """The RESULTS.md section: command, machine, date, the tables."""
    command = f".venv/bin/python -m bench.load {r['args']}".strip()
    lines = [
        "## Load: 100 websocket clients, echo backend (bench/load.py)",
        "",
        f"`{command}` (100 clients, 10 turns each, paced at 0.5 s, 2 client processes, 1000 idle"
        f" connections unless the options say otherwise) — {r['machine']}; {r['date']};"
        f" runtime {r['runtime_s']} s;"
        f" open-files limit {r['open_files_limit']}. Server: `samantha serve --backend echo"
        " --rate-limit 0 --seeds-dir ''` on 127.0.0.1; clients in"
        f" {r['saturation']['client_procs']} processes beside it, on the same 2 cores.",
        "",
        "| phase | turns | errors | offered/s | turns/s | p50 ms | p95 ms | p99 ms | server CPU ms/turn"
        " | of which event loop | server cores busy | client CPU ms/turn | load avg |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in ("saturation", "paced", "saturation_repeated_texts"):
        p = r[name]
        lines.append(
            f"| {name} | {p['turns']} | {p['errors']} | {p['offered_turns_per_s'] or 'closed loop'}"
            f" | {p['turns_per_s']} | {p['p50_ms']} | {p['p95_ms']} | {p['p99_ms']}"
            f" | {p['server_cpu_ms_per_turn']} | {p['server_loop_cpu_ms_per_turn']}"
            f" | {p['server_cores_busy']} | {p['client_cpu_ms_per_turn']} | {p['load_average_1min']} |"
        )
    lines += [
        "",
        "Event loop: CPU of the server's main thread (frames, websocket, session; it holds the GIL for all"
        " of it); the rest is worker threads (embedding, recall, SQLite). Client CPU: the client processes"
        " (their start-up included), on the same cores. Load avg: the machine's 1-minute load average at the"
        " end of the phase (other work on the 2 cores included).",
    ]
    lines += ["", "| idle connections | held | open after a turn | RSS before MiB | RSS held MiB | KiB each"]
    lines[-1] += " | a turn meanwhile ms |"
    lines.append("|---|---:|---:|---:|---:|---:|---:|")
    for name in ("idle_echo", "idle_llamacpp"):
        if name in r:
            i = r[name]
            lines.append(
                f"| {name.removeprefix('idle_')} server | {i['connections']} | {i['open_after_turn']}"
                f" | {i['rss_mib_before']} | {i['rss_mib_held']} | {i['kib_per_connection']}"
                f" | {i['turn_ms_while_held']} {i['turn_error'] or ''} |"
            )
    if "llamacpp_rss_mib_idle" in r:
        lines += [
            "",
            f"Server RSS with both models loaded (MiniLM embedder + SmolLM2, `--backend llamacpp`): idle"
            f" {r['llamacpp_rss_mib_idle']} MiB, after one turn {r['llamacpp_rss_mib_after_turn']} MiB, with"
            f" {r['idle_llamacpp']['connections']} connections {r['idle_llamacpp']['rss_mib_held']} MiB, peak"
            f" {r['llamacpp_peak_rss_mib']} MiB. Echo server idle {r['echo_rss_mib_idle']} MiB, peak"
            f" {r['echo_peak_rss_mib']} MiB.",
        ]
    return "\n".join(lines)


def main() -> int:
    """Parse options, run, print, write JSON."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--turns", type=int, default=10, help="turns per client in each chat phase")
    parser.add_argument("--period", type=float, default=0.5, help="seconds between a client's turns (paced)")
    parser.add_argument("--client-procs", type=int, default=2, help="client processes (1: all in this one)")
    parser.add_argument("--idle", type=int, default=1000, help="idle connections to hold")
    parser.add_argument("--no-llamacpp", dest="llamacpp", action="store_false", help="skip the RSS part")
    parser.add_argument("--server-env", action="append", default=[], help="K=V for the server (experiments)")
    parser.add_argument("--out", default="load", help="name of the JSON file in bench/results")
    parser.add_argument("--no-record", action="store_true", help="do not touch bench/RESULTS.md")
    parser.add_argument(
        "--profile", default=None, help="py-spy the server during the saturation phase into this file"
    )
    parser.add_argument("--client-worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client_worker:
        pooled = asyncio.run(clients_here(*json.loads(args.client_worker)))
        print(json.dumps({"latencies_ms": pooled.latencies_ms, "errors": pooled.errors}))
        return 0
    started = time.perf_counter()
    results = asyncio.run(run(args))
    results["machine"] = describe_machine()
    results["runtime_s"] = round(time.perf_counter() - started, 1)
    results["date"] = datetime.now().astimezone().isoformat(timespec="minutes")
    results["args"] = " ".join(sys.argv[1:])
    print_tables(results)
    write_json(RESULTS_DIR / f"{args.out}.json", results)
    if not args.no_record and args.out == "load":
        record_section("load", markdown(results))
    print(f"\nwrote {RESULTS_DIR / args.out}.json in {results['runtime_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
