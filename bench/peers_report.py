"""bench/peers.py's numbers: per-system summaries, the comparison with Samantha, the table and RESULTS.md."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from statistics import median
from typing import Any

from bench import locomo_metrics
from bench.locomo_data import CATEGORIES, LocomoConversation
from bench.locomo_metrics import Outcome
from memory.embedder import Embedder

OURS = "samantha"
GROUPS = ("all", "cat_1_4")  # the table's recall columns; every group is in the JSON


@dataclass
class Tally:
    """One system's measurements over the run; `blocked` says why it could not run, if it could not."""

    outcomes: list[Outcome] = field(default_factory=list)
    latency_ms: list[float] = field(default_factory=list)
    ingest_s: list[float] = field(default_factory=list)
    turns: list[int] = field(default_factory=list)
    blocked: str | None = None


def summary(t: Tally, ks: Sequence[int]) -> dict[str, Any]:
    """Ingest rate (turns/s, embedding included), query latency and recall with CIs, as bench.locomo."""
    metrics = locomo_metrics.summarise(t.outcomes, ks)
    out: dict[str, Any] = {key: {g: c["mean"] for g, c in table.items()} for key, table in metrics.items()}
    out["ci95"] = {key: {g: c["ci95"] for g, c in table.items()} for key, table in metrics.items()}
    out["questions"] = {g: c["n"] for g, c in metrics[f"recall_at_{max(ks)}"].items()}
    out["latency_ms"] = {**locomo_metrics.percentiles(t.latency_ms), "k": max(ks)}
    out["ingest"] = {
        "turns": sum(t.turns),
        "seconds": sum(t.ingest_s),
        "turns_per_s": sum(t.turns) / sum(t.ingest_s),
        "turns_per_s_median_conversation": median(n / s for n, s in zip(t.turns, t.ingest_s, strict=True)),
    }
    return out


def versus(ours: Tally, peer: Tally, mine: dict[str, Any], theirs: dict[str, Any], ks: Sequence[int]) -> dict:
    """Peer ÷ Samantha for speed; Samantha − peer for recall, its CI from resampling conversations."""
    pairs = list(zip(ours.outcomes, peer.outcomes, strict=True))
    assert all((a.conversation, a.category) == (b.conversation, b.category) for a, b in pairs)
    # The same questions in the same order: a per-question difference, summarised like any outcome.
    deltas = [
        Outcome(
            a.conversation,
            a.category,
            {k: a.recall[k] - b.recall[k] for k in ks},
            {k: a.hit[k] - b.hit[k] for k in ks},
        )
        for a, b in pairs
    ]
    diff = locomo_metrics.summarise(deltas, ks)
    lat_m, lat_t = mine["latency_ms"], theirs["latency_ms"]
    return {
        "ingest_turns_per_s_ratio": theirs["ingest"]["turns_per_s"] / mine["ingest"]["turns_per_s"],
        "query_p50_ratio": lat_t["p50"] / lat_m["p50"],
        "query_p95_ratio": lat_t["p95"] / lat_m["p95"],
        "samantha_minus_peer": {
            key: {g: {"mean": c["mean"], "ci95": c["ci95"]} for g, c in table.items()}
            for key, table in diff.items()
        },
    }


def ahead(v: dict[str, Any], k: int) -> str:
    """Where Samantha is ahead of this peer: faster ingest, lower p50 and p95, higher recall@k (all)."""
    d = v["samantha_minus_peer"][f"recall_at_{k}"]["all"]
    checks = {
        "ingest": v["ingest_turns_per_s_ratio"] < 1,
        "p50": v["query_p50_ratio"] > 1,
        "p95": v["query_p95_ratio"] > 1,
        f"R@{k}" + ("*" if d["ci95"][0] > 0 else ""): d["mean"] > 0,
    }
    return ", ".join(name for name, ok in checks.items() if ok) or "none"


def result(
    conversations: Sequence[LocomoConversation],
    tallies: Mapping[str, Tally],
    ks: list[int],
    embedders: Mapping[str, Embedder],
    about: Mapping[str, str],
    sockets: Mapping[str, list[str]],
    commit: str,
) -> dict[str, Any]:
    systems: dict[str, Any] = {}
    for name, t in tallies.items():
        systems[name] = {"status": f"blocked: {t.blocked}" if t.blocked else "ok", "config": about[name]}
        if not t.blocked:
            systems[name] |= summary(t, ks)
    compared: dict[str, Any] = {}
    if OURS in tallies and not tallies[OURS].blocked:
        for name, t in tallies.items():
            if name != OURS and not t.blocked:
                compared[name] = versus(tallies[OURS], t, systems[OURS], systems[name], ks)
    out: dict[str, Any] = {
        "systems": systems,
        "vs_samantha": compared,
        "network": {"connects_and_lookups": dict(sockets), "clean": not any(sockets.values())},
        "data": {
            "conversations": len(conversations),
            "turns": sum(len(c.turns) for c in conversations),
            "questions_with_evidence": sum(1 for c in conversations for q in c.questions if q.gold),
        },
        "meta": {
            "date": datetime.now().astimezone().isoformat(timespec="seconds"),
            "machine": locomo_metrics.machine(),
            "embedder": {n: f"{e.name} ({type(e).__name__}, dim {e.dim})" for n, e in embedders.items()},
            "commit": commit,
            "order": "systems rotate per conversation (conversation i starts with system i mod 3)",
            "timed": "ingest: the store's write of all turns, embedding included; query: the first "
            f"(k={max(ks)}) search of each question, embedding included",
            "bootstrap": "1000 resamples of conversations, seed 0, percentile 95% CI (deltas paired)",
            "loadavg_1m_at_end": round(os.getloadavg()[0], 2),  # other work on the machine skews latency
        },
    }
    out["_table"] = table(out, ks)
    return out


def _cell(mean: float, ci: Sequence[float], signed: bool = False) -> str:
    sign = "+" if signed else ""
    return f"{100 * mean:{sign}.1f} [{100 * ci[0]:{sign}.1f}, {100 * ci[1]:{sign}.1f}]"


def _rows(
    r: dict[str, Any], ks: Sequence[int]
) -> tuple[list[str], list[list[str]], list[str], list[list[str]]]:
    """The two tables (systems; versus Samantha) as header and rows of cells."""
    cols = [(k, g) for k in ks for g in GROUPS]
    label = {"all": "all", "cat_1_4": "cat1-4"}
    head = ["system", "turns/s", "p50 ms", "p95 ms", *(f"R@{k} {label[g]}" for k, g in cols)]
    rows = []
    for name, s in r["systems"].items():
        if s["status"] != "ok":  # the reason is printed under the table
            rows.append([name, "blocked", *[""] * (len(head) - 2)])
            continue
        lat = s["latency_ms"]
        rows.append(
            [
                name,
                f"{s['ingest']['turns_per_s']:.0f}",
                f"{lat['p50']:.1f}",
                f"{lat['p95']:.1f}",
                *(_cell(s[f"recall_at_{k}"][g], s["ci95"][f"recall_at_{k}"][g]) for k, g in cols),
            ]
        )
    vhead = [
        "peer",
        "turns/s ÷ ours",
        "p50 ÷ ours",
        "p95 ÷ ours",
        *(f"Δ R@{k} {label[g]} (ours − peer)" for k, g in cols),
        "samantha ahead on",
    ]
    vrows = []
    for name, v in r["vs_samantha"].items():
        d = v["samantha_minus_peer"]
        vrows.append(
            [
                name,
                f"{v['ingest_turns_per_s_ratio']:.2f}",
                f"{v['query_p50_ratio']:.2f}",
                f"{v['query_p95_ratio']:.2f}",
                *(
                    _cell(d[f"recall_at_{k}"][g]["mean"], d[f"recall_at_{k}"][g]["ci95"], True)
                    for k, g in cols
                ),
                ahead(v, max(ks)),
            ]
        )
    return head, rows, vhead, vrows


def blocked(r: dict[str, Any]) -> list[str]:
    """Why each blocked system could not run."""
    return [f"{name} {s['status']}" for name, s in r["systems"].items() if s["status"] != "ok"]


def table(r: dict[str, Any], ks: Sequence[int]) -> str:
    """The printed table: systems, then each peer against Samantha."""
    head, rows, vhead, vrows = _rows(r, ks)
    lines = []
    for h, rs in ((head, rows), (vhead, vrows)):
        widths = [max(len(x[i]) for x in (h, *rs)) for i in range(len(h))]
        for n, row in enumerate((h, *rs)):
            cells = zip(row, widths, strict=True)
            lines.append("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(cells)))
            if n == 0:
                lines.append("-" * len(lines[-1]))
        lines.append("")
    lines += blocked(r)
    net = r["network"]
    lines.append(
        "network: no connect or lookup" if net["clean"] else f"network: {net['connects_and_lookups']}"
    )
    lines.append("* the CI of Samantha's recall lead excludes 0; ratios below 1 (speed) favour Samantha")
    return "\n".join(lines)


def markdown(r: dict[str, Any], ks: Sequence[int]) -> str:
    """The RESULTS.md section: command, machine, date, configs and the numbers."""
    m, mach = r["meta"], r["meta"]["machine"]
    head, rows, vhead, vrows = _rows(r, ks)

    def md(h: list[str], rs: list[list[str]]) -> list[str]:
        return [
            "| " + " | ".join(h) + " |",
            "|---|" + "---:|" * (len(h) - 1),
            *("| " + " | ".join(x) + " |" for x in rs),
        ]

    k = max(ks)
    ok = [n for n, s in r["systems"].items() if s["status"] == "ok"]
    per_group = [
        "| group | n | " + " | ".join(f"{s} R@{k}" for s in ok) + " |",
        "|---|---:|" + "---:|" * len(ok),
    ]
    if ok:
        for g, n in r["systems"][ok[0]]["questions"].items():
            name = g if g in ("all", "cat_1_4") else f"{g} {CATEGORIES[int(g[-1])]}"
            cells = [
                _cell(r["systems"][s][f"recall_at_{k}"][g], r["systems"][s]["ci95"][f"recall_at_{k}"][g])
                for s in ok
            ]
            per_group.append(f"| {name} | {n} | " + " | ".join(cells) + " |")
    net = r["network"]
    return "\n".join(
        [
            "## Peers on LoCoMo: Samantha's memory, ChromaDB and Mem0 (bench/peers.py)",
            "",
            f"`{m['command']}` — {m['date']}, commit {m['commit']}, {mach['nproc']} cores ({mach['cpu']}), "
            f"{mach['ram_gb']} GB RAM; versions {', '.join(f'{d} {v}' for d, v in m['versions'].items())}; "
            f"embedder {m['embedder'].get(OURS) or next(iter(m['embedder'].values()))} for every system, "
            "one instance each.",
            "",
            f"{r['data']['conversations']} conversations, {r['data']['turns']} turns, "
            f"{r['data']['questions_with_evidence']} questions with evidence. Each system gets a fresh store "
            f"per conversation; {m['order']}. Timed: {m['timed']}. Percent, 95% CI from 1000 bootstrap "
            f"resamples of conversations; the deltas are paired by question. 1-min load average at the end: "
            f"{m['loadavg_1m_at_end']} (2 shared cores).",
            "",
            *md(head, rows),
            *blocked(r),
            "",
            *md(vhead, vrows),
            "",
            "Speed ratios are peer ÷ Samantha: below 1 for turns/s, above 1 for latency, favour Samantha; "
            "`*` marks a recall lead whose CI excludes 0.",
            "",
            *per_group,
            "",
            *(f"- {name}: {s['config']}" for name, s in r["systems"].items()),
            "",
            "Network during the run: "
            + (
                "no connect or name lookup by any system (audit hook)."
                if net["clean"]
                else f"{net['connects_and_lookups']}"
            ),
        ]
    )
