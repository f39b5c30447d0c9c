"""A guard change measured on the companion benchmark's recorded replies: the same words, guarded again.

The reply guard (persona/guard.py) is a deterministic filter over what the model wrote, so its effect on a
run is exact without sampling again: each recorded reply is streamed through today's `ReplyGuard` (its
evidence: the notes recalled for that reply and the person's message, as the session gives it), and judged
again by bench/companion_rules.py. The notes are given both as she read them and as stored (the JSON keeps
their text, not their kind), so the guard may allow a little more than it did live. Two live runs at
temperature 0.6 differ by more than most guard changes (bench/RESULTS.md, companion benchmark). A reply
written under an older guard is already filtered by it; this shows what the new rules change on top. Not
replayed: the rule about today's date.

    .venv/bin/python -m bench.companion_replay [RESULTS_JSON ...]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from bench import companion, companion_rules, report
from persona.guard import ReplyGuard
from persona.notes import render_note

DEFAULT = sorted(report.RESULTS_DIR.glob("companion*.json"))


def guarded(reply: str, recalled: list[str], asked: str, today: str) -> str:
    """The reply as today's guard would let it through, fed word by word as a model streams it."""
    # Her notes as she read them ("you told me: your sister..."), and as stored (the JSON keeps no kinds).
    notes = [render_note(t, "fact" if "] The user" in t else "turn", today) for t in recalled]
    guard = ReplyGuard(evidence="\n".join([*notes, *recalled, asked]), asked=asked)
    shown = "".join(guard.feed(w) for w in re.findall(r"\S+\s*|\s+", reply))
    return (shown + guard.finish()).strip()


def replay(path: Path) -> dict[str, Any]:
    """One recorded run: how many replies the guard now changes, and the probes' score before and after."""
    probes = {
        (life.name, step.user): step for life in companion.load_lives() for step in life.steps if step.user
    }
    run = json.loads(path.read_text(encoding="utf-8"))
    replies, today = run["replies"], run["meta"]["date"]
    changed, before, after, judged = [], 0, 0, 0
    for r in replies:
        now = guarded(r["reply"], r.get("recalled") or [], r["user"], today)
        step = probes.get((r["life"], r["user"]))
        # Time probes are left out: their expectation is the run's own date, which the JSON does not keep.
        if step is not None and step.rule and step.rule != "time":
            judged += 1
            before += companion_rules.judge(step.rule, r["reply"], step.expect, step.avoid)[0]
            after += companion_rules.judge(step.rule, now, step.expect, step.avoid)[0]
        if now != r["reply"].strip():
            changed.append({"life": r["life"], "user": r["user"], "before": r["reply"], "after": now})
    return {
        "replies": len(replies),
        "probes": judged,
        "pass_before": before,
        "pass_after": after,
        "changed": changed,
    }


def main(argv: list[str] | None = None) -> int:
    """Replay each run, print what changed and the scores."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("runs", nargs="*", type=Path, default=DEFAULT, help="companion results JSON files")
    args = parser.parse_args(argv)
    for path in args.runs:
        out = replay(path)
        print(f"\n{path.name}: {len(out['changed'])} of {out['replies']} replies changed; probes passed "
              f"{out['pass_before']} -> {out['pass_after']} of {out['probes']}")  # fmt: skip
        for c in out["changed"]:
            print(f"  [{c['life']}] {c['user']}\n    before: {c['before']}\n    after:  {c['after']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
